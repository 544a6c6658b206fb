"""Pixels for image models: decode a DICOM, pick frames, make grey, downscale, normalise.

Training and serving call the same functions, so a model sees in production exactly the
preprocessing it was trained on.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

# Luminance weights (ITU-R BT.601): coloured overlay text stays as bright as it looks.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Windowing percentiles: robust to a few hot pixels, and text (small, bright) ends up at 1.
LOW_PERCENTILE, HIGH_PERCENTILE = 0.5, 99.5


class ImageDecodeError(ValueError):
    """The object holds no usable image; the message names the problem, never a value."""


def frame_indices(n_frames: int, wanted: int) -> list[int]:
    """`wanted` frames spread over the clip (first, middle, last for 3)."""
    if n_frames <= wanted:
        return list(range(n_frames))
    if wanted == 1:
        return [0]
    return sorted({round(i * (n_frames - 1) / (wanted - 1)) for i in range(wanted)})


def decode_dicom(data: bytes, max_frames: int = 3) -> list[np.ndarray]:
    """Grey frames (float32, raw intensity, MONOCHROME1 inverted) of a DICOM image."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, KeyError) as error:
        raise ImageDecodeError(f"not a readable DICOM file ({type(error).__name__})") from None
    return dataset_frames(dataset, max_frames)


def dataset_frames(dataset: object, max_frames: int = 3) -> list[np.ndarray]:
    from pydicom.dataset import Dataset
    from pydicom.pixels import apply_color_lut, pixel_array

    assert isinstance(dataset, Dataset)
    if not any(tag in dataset for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise ImageDecodeError("no pixel data")
    try:
        n_frames = int(dataset.get("NumberOfFrames") or 1)
    except (TypeError, ValueError):
        n_frames = 1
    photometric = str(dataset.get("PhotometricInterpretation", "")).upper()
    frames = []
    for index in frame_indices(max(n_frames, 1), max_frames):
        try:
            # index=: decode one frame, not a 100-frame cine clip to look at three.
            pixels = pixel_array(dataset, index=index if n_frames > 1 else None)
            if photometric == "PALETTE COLOR":
                pixels = apply_color_lut(pixels, dataset)
        except Exception as error:  # any codec failure: per-record error, not a crash
            raise ImageDecodeError(
                f"pixel data cannot be decoded ({type(error).__name__})"
            ) from None
        frames.append(to_grey(np.asarray(pixels), photometric))
    return frames


def to_grey(pixels: np.ndarray, photometric: str = "MONOCHROME2") -> np.ndarray:
    """2-D float32 intensities; colour by luminance, MONOCHROME1 inverted (bright = high)."""
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        grey = pixels[..., :3].astype(np.float32) @ _LUMA
    elif pixels.ndim == 2:
        grey = pixels.astype(np.float32)
    else:
        raise ImageDecodeError(f"unexpected pixel array shape with {pixels.ndim} dimensions")
    if min(grey.shape) < 8:
        raise ImageDecodeError("image too small")
    if photometric == "MONOCHROME1":
        grey = grey.max() - grey
    return grey


def model_input(grey: np.ndarray, size: int) -> np.ndarray:
    """size x size float32 in [0, 1]: area downscale (thin strokes stay as grey), then window.

    Small images are enlarged bilinearly: box-filter enlargement makes blocky pixels whose
    edges look like strokes. Windowing after resizing is cheaper and sees what the network sees.
    """
    image = Image.fromarray(np.ascontiguousarray(grey, dtype=np.float32), mode="F")
    shrinking = min(grey.shape) >= size
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    small = np.asarray(image.resize((size, size), method), dtype=np.float32)
    low, high = np.percentile(small, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if high - low < 1e-6:
        return np.zeros((size, size), dtype=np.float32)
    return np.clip((small - low) / (high - low), 0.0, 1.0).astype(np.float32)


def stack_inputs(images: Sequence[np.ndarray]) -> np.ndarray:
    """(N, 1, H, W) float32 batch."""
    return np.stack(images)[:, None, :, :].astype(np.float32)


def prepare_dicom(data: bytes, size: int, frames: int) -> list[np.ndarray]:
    """What an image model reads from a stored DICOM object: `frames` model inputs."""
    return [model_input(frame, size) for frame in decode_dicom(data, frames)]
