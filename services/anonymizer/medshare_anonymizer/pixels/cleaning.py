"""Blanking pixel regions (the Clean Pixel Data option) and re-encoding the result.

Compressed pixel data is decoded (pylibjpeg, openjpeg, CharLS, Pillow, RLE; not GDCM), the
regions are set to 0 in every frame, and the frames are encoded again:

* lossless syntaxes with an encoder (RLE, JPEG-LS lossless, JPEG 2000 lossless) are
  re-encoded in the same syntax;
* every other compressed syntax (JPEG baseline/extended, JPEG lossless, lossy JPEG
  2000 or JPEG-LS) is re-encoded as JPEG-LS lossless, else JPEG 2000 lossless, else
  RLE lossless, else uncompressed: a second lossy pass would add a second generation
  of loss, while lossless keeps the decoded pixels exactly (LossyImageCompression
  stays "01");
* native pixel data stays native (big endian becomes explicit VR little endian).

YBR colour is converted to RGB on decoding and written as RGB.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.pixels import get_decoder, get_encoder, iter_pixels
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEG2000TransferSyntaxes,
    JPEGLSLossless,
    JPEGLSTransferSyntaxes,
    JPEGTransferSyntaxes,
    RLELossless,
)

from medshare_anonymizer.pixels.regions import Box

_SAME_SYNTAX_LOSSLESS = frozenset({RLELossless, JPEGLSLossless, JPEG2000Lossless})
_NATIVE_KEPT = frozenset({ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                          DeflatedExplicitVRLittleEndian})  # fmt: skip


# GDCM aborts the whole process (an uncaught C++ exception) on some malformed
# codestreams, which a sender controls: one such record would kill the anonymizer on
# every redelivery. pylibjpeg, pyjpegls and Pillow decode every syntax GDCM does here
# and raise ordinary errors; GDCM is taken out of every decoder's plugin list.
def _without_gdcm() -> None:
    for syntax in (*JPEGTransferSyntaxes, *JPEGLSTransferSyntaxes, *JPEG2000TransferSyntaxes):
        try:
            decoder = get_decoder(syntax)
        except NotImplementedError:  # no decoder at all for this syntax
            continue
        if "gdcm" in decoder.available_plugins or "gdcm" in decoder.missing_dependencies:
            decoder.remove_plugin("gdcm")


_without_gdcm()


class PixelCleaningError(Exception):
    """The pixel data cannot be decoded or rewritten (message names no values)."""


def decoded_frames(ds: Dataset) -> np.ndarray:
    """Every frame, shaped (frames, rows, columns, samples); YBR comes back as RGB."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # pixel_array converts YBR_* to RGB for both native and compressed data.
            array = np.array(ds.pixel_array, copy=True)
    except Exception as exc:  # decoders raise many kinds of errors
        raise PixelCleaningError(f"pixel data could not be decoded ({type(exc).__name__})") from exc
    samples = int(ds.get("SamplesPerPixel", 1))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    # Normalise to (frames, rows, columns, samples) so one slice rule fits all shapes.
    return array.reshape(frames, int(ds.Rows), int(ds.Columns), samples)


def iter_frames(ds: Dataset) -> Iterator[np.ndarray]:
    """Frame by frame (bounded memory for long clips); YBR comes back as RGB.

    Files the frame iterator refuses (a Pixel Representation that disagrees with the
    codestream, for one) are decoded whole, as ``pixel_array`` reconciles more cases.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frames = list(iter_pixels(ds, indices=[0]))
    except Exception:  # decoders raise many kinds of errors
        yield from decoded_frames(ds)
        return
    yield frames[0]
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if count < 2:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield from iter_pixels(ds, indices=range(1, count))
        except Exception as exc:
            raise PixelCleaningError(
                f"pixel data could not be decoded ({type(exc).__name__})"
            ) from exc


def blank(shaped: np.ndarray, boxes: Sequence[Box]) -> int:
    """Sets every pixel in ``boxes`` to 0 in every frame; returns pixels blanked per frame."""
    _, rows, columns, _ = shaped.shape
    blanked = 0
    for box in boxes:
        y0, y1 = max(0, box.y0), min(rows, box.y1)
        x0, x1 = max(0, box.x0), min(columns, box.x1)
        if y1 > y0 and x1 > x0:
            shaped[:, y0:y1, x0:x1, :] = 0
            blanked += (y1 - y0) * (x1 - x0)
    return blanked


def _as_dataset_shape(shaped: np.ndarray) -> np.ndarray:
    frames, rows, columns, samples = shaped.shape
    shape: tuple[int, ...] = (rows, columns) if samples == 1 else (rows, columns, samples)
    return shaped.reshape(shape if frames == 1 else (frames, *shape))


_WORD_SIZES = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}


def _swap_words(ds: Dataset) -> None:
    """Big-endian binary words (palette and segmented LUTs, LUT Data) made little endian.

    pydicom keeps OW/OL/OF/OD/OV values as the file's raw bytes, so writing a big-endian
    dataset as little endian would copy them unswapped (0,256,256 read back as 0,1,1).
    """
    for element in ds.iterall():
        size = _WORD_SIZES.get(element.VR)
        value = element.value
        if size is None or element.tag == 0x7FE00010 or not value or len(value) % size:
            continue
        words = np.frombuffer(value, dtype=f">u{size}")
        element.value = words.astype(f"<u{size}").tobytes()


def _write_native(ds: Dataset, shaped: np.ndarray, syntax: UID) -> None:
    ds.file_meta.TransferSyntaxUID = syntax
    little_endian = shaped.astype(shaped.dtype.newbyteorder("<"), copy=False)
    ds.PixelData = little_endian.tobytes()
    ds["PixelData"].VR = "OB" if int(ds.BitsAllocated) == 8 else "OW"
    ds["PixelData"].is_undefined_length = False


def _encode(ds: Dataset, shaped: np.ndarray, source: UID) -> UID:
    """Writes the cleaned frames into ``ds``; returns the transfer syntax used."""
    if not source.is_compressed:
        target = source if source in _NATIVE_KEPT else ExplicitVRLittleEndian
        _write_native(ds, shaped, target)
        return target
    candidates = [source] if source in _SAME_SYNTAX_LOSSLESS else []
    candidates += [JPEGLSLossless, JPEG2000Lossless, RLELossless]
    array = _as_dataset_shape(shaped)
    photometric = ds.PhotometricInterpretation
    for syntax in dict.fromkeys(candidates):
        if not get_encoder(syntax).is_available:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # Colour JPEG 2000 lossless goes out as YBR_RCT (the reversible colour
                # transform): the US and other IODs allow only that for this syntax.
                mct = syntax == JPEG2000Lossless and shaped.shape[-1] == 3
                ds.PhotometricInterpretation = "YBR_RCT" if mct else photometric
                ds.compress(syntax, array, generate_instance_uid=False, use_mct=mct)
        except Exception:  # an encoder that refuses this image: try the next syntax
            continue
        return syntax
    ds.PhotometricInterpretation = photometric
    _write_native(ds, shaped, ExplicitVRLittleEndian)
    return ExplicitVRLittleEndian


def clean_pixels(data: bytes, boxes: Sequence[Box]) -> bytes:
    """Part-10 bytes with ``boxes`` blanked in every frame, re-encoded (see module doc)."""
    ds = dcmread(io.BytesIO(data))
    if int(ds.get("BitsAllocated", 0)) not in (8, 16, 32):
        raise PixelCleaningError("unsupported BitsAllocated for pixel cleaning")
    source = ds.file_meta.TransferSyntaxUID
    shaped = decoded_frames(ds)
    blank(shaped, boxes)
    if str(ds.get("PhotometricInterpretation", "")).startswith("YBR"):
        ds.PhotometricInterpretation = "RGB"
    if int(ds.get("SamplesPerPixel", 1)) > 1:
        ds.PlanarConfiguration = 0
    if source == ExplicitVRBigEndian:
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        _swap_words(ds)
    _encode(ds, shaped, source)
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()
