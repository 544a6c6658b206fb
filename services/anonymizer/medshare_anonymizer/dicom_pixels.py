"""Blanking pixel regions (the Clean Pixel Data option).

Compressed pixel data is decoded (pylibjpeg / openjpeg / RLE / GDCM plugins) and the
cleaned instance is written uncompressed as Explicit VR Little Endian: re-encoding to
a lossy syntax would add a second generation of loss, and a lossless re-encode is not
available for every syntax. YBR colour is converted to RGB on decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from medshare_anonymizer.pixel_rules import Box


class PixelCleaningError(Exception):
    """The pixel data cannot be decoded or rewritten (message names no values)."""


def _frames_array(ds: Dataset) -> np.ndarray:
    try:
        # as_rgb converts YBR_* to RGB for both native and compressed data.
        array = np.array(ds.pixel_array, copy=True)
    except Exception as exc:  # decoders raise many kinds of errors
        raise PixelCleaningError(f"pixel data could not be decoded ({type(exc).__name__})") from exc
    return array


def blank_regions(ds: Dataset, boxes: Sequence[Box]) -> int:
    """Sets every pixel in ``boxes`` to 0 in every frame; returns pixels blanked per frame.

    The dataset is rewritten in place as uncompressed Explicit VR Little Endian.
    """
    if int(ds.get("BitsAllocated", 0)) not in (8, 16, 32):
        raise PixelCleaningError("unsupported BitsAllocated for pixel cleaning")
    array = _frames_array(ds)
    samples = int(ds.get("SamplesPerPixel", 1))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    rows, columns = int(ds.Rows), int(ds.Columns)
    # Normalise to (frames, rows, columns, samples) so one slice rule fits all shapes.
    shaped = array.reshape(frames, rows, columns, samples)
    blanked = 0
    for box in boxes:
        y0, y1 = max(0, box.y0), min(rows, box.y1)
        x0, x1 = max(0, box.x0), min(columns, box.x1)
        if y1 > y0 and x1 > x0:
            shaped[:, y0:y1, x0:x1, :] = 0
            blanked += (y1 - y0) * (x1 - x0)
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if photometric.startswith("YBR"):
        ds.PhotometricInterpretation = "RGB"
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    little_endian = shaped.astype(shaped.dtype.newbyteorder("<"), copy=False)
    ds.PixelData = little_endian.tobytes()
    ds["PixelData"].VR = "OB" if int(ds.BitsAllocated) == 8 else "OW"
    ds["PixelData"].is_undefined_length = False
    return blanked
