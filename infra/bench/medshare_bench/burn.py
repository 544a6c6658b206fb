"""Text burned into a real image's pixels, as a console or capture device would.

For the pixel benchmark and tests: the planted words are known, so what survives in
the released pixels can be checked by OCR engines. Fonts: DejaVu where Debian has it,
else Pillow's built-in FreeType font.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
TESSERACT = shutil.which("tesseract")


@dataclass(frozen=True)
class Burned:
    data: bytes  # Part-10, native explicit VR little endian
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the text in frame pixels
    words: tuple[str, ...]


def font(
    size: int, name: str = "DejaVuSansMono.ttf"
) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / name
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


Box = tuple[int, int, int, int]


def text_mask(
    shape: tuple[int, int], text: str, size: int, at: tuple[int, int],
    font_name: str = "DejaVuSansMono.ttf",
) -> tuple[np.ndarray, Box]:  # fmt: skip
    image = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(image)
    face = font(size, font_name)
    left, top, right, bottom = (round(v) for v in draw.textbbox((0, 0), text, font=face))
    x, y = at
    draw.text((x - left, y - top), text, fill=255, font=face)
    return np.array(image) > 127, (x, y, x + right - left, y + bottom - top)


def burn(source: bytes, text: str, size: int, at: tuple[int, int],
         font_name: str = "DejaVuSansMono.ttf") -> Burned:  # fmt: skip
    """``text`` drawn at the brightest value of the frame(s), every frame, native syntax."""
    ds = dcmread(io.BytesIO(source))
    for _ in ds.iterall():  # raw elements read without a VR get one before writing
        pass
    pixels = np.array(ds.pixel_array, copy=True)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    rows, columns = int(ds.Rows), int(ds.Columns)
    mask, box = text_mask((rows, columns), text, size, at, font_name)
    shaped = pixels.reshape(frames, rows, columns, -1)
    shaped[:, mask, :] = pixels.max()
    _as_native(ds, shaped.reshape(pixels.shape))
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)  # big endian sources become little endian
    words = tuple(w for w in text.replace("^", " ").replace(",", " ").split() if len(w) >= 3)
    return Burned(out.getvalue(), box, words)


def _as_native(ds: Dataset, pixels: np.ndarray) -> None:
    if str(ds.get("PhotometricInterpretation", "")).startswith("YBR"):
        ds.PhotometricInterpretation = "RGB"
    if int(ds.get("SamplesPerPixel", 1)) > 1:
        ds.PlanarConfiguration = 0
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    ds["PixelData"].VR = "OB" if int(ds.BitsAllocated) == 8 else "OW"
    ds["PixelData"].is_undefined_length = False


def gray8(frame: np.ndarray) -> np.ndarray:
    frame = frame.astype(np.float64)
    if frame.ndim == 3:
        frame = frame.mean(axis=-1)
    low, high = frame.min(), frame.max()
    if high <= low:
        return np.zeros(frame.shape, dtype=np.uint8)
    return ((frame - low) * (255 / (high - low))).astype(np.uint8)


def tesseract_text(frame: np.ndarray) -> str:
    """What Debian's tesseract reads in a frame (sparse text mode), upper-cased."""
    assert TESSERACT is not None, "tesseract missing: install the Debian package tesseract-ocr"
    image = Image.fromarray(gray8(frame))
    if max(image.size) < 1200:  # tesseract reads small console fonts better enlarged
        image = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    png = io.BytesIO()
    image.save(png, format="PNG")
    run = subprocess.run([TESSERACT, "stdin", "stdout", "--psm", "11"], input=png.getvalue(),
                         capture_output=True, timeout=120, check=True)  # fmt: skip
    return run.stdout.decode("utf-8", "replace").upper()
