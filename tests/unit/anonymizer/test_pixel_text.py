"""Text burned into the pixels of real images of every modality: found, blanked, and
unreadable afterwards by our OCR and by a second engine (Debian's tesseract).

The images are real (pydicom-data, deid-data); the burned text is drawn here, like a
console's demographics line, in the frame's brightest value.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from pydicom import dcmread

from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pixels.cleaning import iter_frames
from medshare_anonymizer.pixels.screening import screen_frame
from medshare_anonymizer.pixels.text import find_text
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_bench.burn import burn, tesseract_text

from .conftest import read_bytes, sample_path, ultrasound_path

CLEAN = frozenset({"clean-pixel-data"})
NAME, ID = "KOWALSKI^ANNA", "ID 48213377"

# (file, modality, font size, where): MR, CR, CT, NM and DX are where the old modality
# rule released burned-in names readable.
IMAGES = [
    ("MR2_UNCR.dcm", "MR", 22, (12, 12)),
    ("RG1_UNCI.dcm", "CR", 40, (30, 1880)),
    ("693_UNCR.dcm", "CT", 14, (300, 480)),
    ("JPEG2000_UNC.dcm", "NM", 12, (4, 1000)),
    ("MR-SIEMENS-DICOM-WithOverlays.dcm", "MR", 13, (6, 462)),
    ("US1_UNCR.dcm", "US", 14, (200, 440)),
]


def _burned(name: str, size: int, at: tuple[int, int]) -> tuple[bytes, tuple[str, ...]]:
    planted = burn(read_bytes(sample_path(name)), f"{NAME} {ID}", size, at)
    return planted.data, planted.words


def _frames(data: bytes) -> list[np.ndarray]:
    return list(iter_frames(dcmread(io.BytesIO(data))))


@pytest.mark.parametrize(("name", "modality", "size", "at"), IMAGES)
def test_burned_text_quarantines_an_image_of_any_modality(
    name: str, modality: str, size: int, at: tuple[int, int], keys: PseudonymKeys
) -> None:
    data, _ = _burned(name, size, at)
    assert dcmread(io.BytesIO(data)).Modality == modality
    result = deidentify_dicom(data, keys, "h")
    assert result.status == "quarantined", result.reason
    assert (result.reason or "").startswith("text read in pixels")
    assert "KOWALSKI" not in (result.reason or "") and "48213377" not in (result.reason or "")
    if deidentify_dicom(read_bytes(sample_path(name)), keys, "h").status != "ok":
        return  # its own captions were read first: reading stops at the first readable batch
    rows, columns = dcmread(io.BytesIO(data)).pixel_array.shape[:2]
    x, y = at[0] / columns, at[1] / rows
    found = [r for r in result.regions if r["source"] == "ocr"]
    assert any(r["x0"] <= x + 0.01 and r["y0"] <= y + 0.01 and r["y1"] > y for r in found)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "modality", "size", "at"), IMAGES)
def test_clean_pixel_data_releases_it_with_nothing_readable(
    name: str, modality: str, size: int, at: tuple[int, int], keys: PseudonymKeys
) -> None:
    data, words = _burned(name, size, at)
    before = " ".join(tesseract_text(f) for f in _frames(data)[:1])
    assert any(word in before for word in words), "tesseract should read the burned text"
    result = deidentify_dicom(data, keys, "h", CLEAN)
    assert result.status == "ok", result.reason
    assert result.output is not None and b"48213377" not in result.output
    released = _frames(result.output)
    assert find_text(iter(released)).boxes == ()  # our OCR reads nothing
    after = tesseract_text(released[0])  # nor does a second engine
    assert not [word for word in words if word in after]
    # Only the text's neighbourhood was blanked: the image is still the image.
    source = _frames(read_bytes(sample_path(name)))[0]
    assert np.mean(released[0] != source) < 0.05


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "693_UNCR.dcm", "RG1_UNCI.dcm", "MR2_UNCR.dcm", "emri_small.dcm"]
)
def test_images_without_text_are_released_with_their_pixels(name: str, keys: PseudonymKeys) -> None:
    data = read_bytes(sample_path(name))
    result = deidentify_dicom(data, keys, "h", CLEAN)
    assert result.status == "ok", result.reason
    assert result.screening["lines"] == 0 and result.actions.get("pixels", 0) == 0
    assert result.output is not None
    assert np.array_equal(dcmread(io.BytesIO(result.output)).pixel_array,
                          dcmread(io.BytesIO(data)).pixel_array)  # fmt: skip


def test_every_frame_of_a_clip_is_screened(keys: PseudonymKeys) -> None:
    """Text on a late frame only: a screen of the first frame would miss it."""
    source = dcmread(io.BytesIO(read_bytes(sample_path("emri_small.dcm"))))
    # Enlarge the 64x64 clip so text fits; burn into frame 7 alone.
    big = np.kron(source.pixel_array, np.ones((1, 4, 4), dtype=source.pixel_array.dtype))
    planted = burn_frame(big, 7)
    finding = find_text(iter(planted))
    assert finding.frames == 10 and len(finding.boxes) >= 1


def burn_frame(frames: np.ndarray, index: int) -> np.ndarray:
    from medshare_bench.burn import text_mask

    mask, _ = text_mask(frames.shape[1:3], "DOE JANE 1962", 14, (8, 8))
    out = frames.copy()
    out[index][mask] = frames.max()
    return out


def test_screen_finds_lines_in_many_fonts_and_sizes() -> None:
    """A smoke test of the screen alone on a real MR frame (our own rendering)."""
    frame = dcmread(io.BytesIO(read_bytes(sample_path("MR2_UNCR.dcm")))).pixel_array
    from medshare_bench.burn import FONT_DIR, text_mask

    fonts = sorted(p.name for p in FONT_DIR.glob("*.ttf"))[:6] or ["DejaVuSansMono.ttf"]
    found = total = 0
    for font_name in fonts:
        for size in (10, 14, 20, 30):
            mask, (x0, y0, x1, y1) = text_mask(frame.shape, "SMITH JOHN 0311", size, (20, 900),
                                               font_name)  # fmt: skip
            image = frame.copy()
            image[mask] = frame.max()
            lines = screen_frame(image)
            total += 1
            found += any(b.box.x0 <= x1 and b.box.x1 >= x0 and b.box.y0 <= y1 and b.box.y1 >= y0
                         for b in lines)  # fmt: skip
    assert found / total >= 0.9


def test_ultrasound_text_is_read_on_the_real_deid_data_samples() -> None:
    """deid-data's ultrasounds carry real burned-in demographics, not drawn here."""
    for name in ("GREYSCALE_IMAGE.dcm", "RGB_IMAGE.dcm"):
        frames = _frames(read_bytes(ultrasound_path(name)))
        assert len(find_text(iter(frames)).boxes) >= 5
