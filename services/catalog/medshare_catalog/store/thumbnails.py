"""PNG thumbnails of de-identified images, rendered server-side and cached in the shared zone.

Rendered from the shared-zone copy only (the one the anonymizer cleaned, burned-in
text masked); the cache sits next to it under `thumbnails/`, keyed by the
object's SHA-256, so a re-de-identified object gets a fresh thumbnail.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from PIL import Image
from pydicom.pixels import apply_modality_lut, apply_voi_lut

COLOUR = {"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "PALETTE COLOR"}


def thumbnail_key(sha256: str, size: int) -> str:
    return f"thumbnails/{sha256}-{size}.png"


def _grey_to_bytes(pixels: NDArray[Any]) -> NDArray[np.uint8]:
    """Robust contrast: the 0.5th to 99.5th percentile spread over 0..255."""
    values = pixels.astype(np.float64)
    low, high = np.percentile(values, [0.5, 99.5])
    if high <= low:
        low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = np.clip((values - low) / (high - low), 0.0, 1.0) * 255.0
    return scaled.astype(np.uint8)


def render_thumbnail(data: bytes, size: int) -> bytes:
    """The first frame as a PNG at most `size` pixels on its longer side."""
    dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    pixels = dataset.pixel_array
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        pixels = pixels[0]
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        pixels = apply_color_lut(pixels, dataset)
    if photometric in COLOUR or (pixels.ndim == 3 and pixels.shape[-1] == 3):
        if pixels.dtype != np.uint8:
            pixels = _grey_to_bytes(pixels)
        image = Image.fromarray(np.ascontiguousarray(pixels), mode="RGB")
    else:
        values = apply_modality_lut(pixels, dataset)
        if "WindowCenter" in dataset or "VOILUTSequence" in dataset:
            values = apply_voi_lut(values, dataset)
        grey = _grey_to_bytes(np.asarray(values))
        if photometric == "MONOCHROME1":
            grey = 255 - grey
        image = Image.fromarray(grey, mode="L")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
