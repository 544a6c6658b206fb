from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pixels.regions import cleaning_regions
from medshare_anonymizer.pseudonyms import PseudonymKeys

from .conftest import parse, read_bytes, sample_path, to_bytes, ultrasound_path

CLEAN = frozenset({"clean-pixel-data"})


@pytest.mark.parametrize(
    "name", ["GREYSCALE_IMAGE.dcm", "RGB_IMAGE.dcm", "ultrasound-multiframe.dcm"]
)
def test_ultrasound_quarantined_without_clean_pixel_data(name: str, keys: PseudonymKeys) -> None:
    data = read_bytes(ultrasound_path(name))
    result = deidentify_dicom(data, keys, "h")
    assert result.status == "quarantined" and result.output is None
    # Their burned-in demographics are read by OCR, not guessed from Modality=US.
    assert "text read in pixels" in (result.reason or "")
    assert "clean-pixel-data not enabled" in (result.reason or "")
    source = parse(data)
    assert str(source.PatientName).split("^")[0] not in (result.reason or "")


@pytest.mark.parametrize(("name", "band"), [("GREYSCALE_IMAGE.dcm", 38), ("RGB_IMAGE.dcm", 60)])
def test_quarantined_ultrasound_keeps_a_header_clean_candidate_for_review(
    name: str, band: int, keys: PseudonymKeys
) -> None:
    """A steward reviews the would-be release: header de-identified, pixels untouched."""
    data = read_bytes(ultrasound_path(name))
    source = parse(data)
    result = deidentify_dicom(data, keys, "h")
    assert result.status == "quarantined" and result.candidate is not None
    candidate = parse(result.candidate)
    assert candidate.SOPInstanceUID != source.SOPInstanceUID
    assert str(candidate.get("PatientName", "")) != str(source.PatientName)
    assert np.array_equal(np.asarray(candidate.pixel_array), np.asarray(source.pixel_array))
    # Where the steward should look, as fractions of the frame: the lines OCR read (some
    # in the vendor's demographics band at the top) and the region rule's band.
    rules = [r for r in result.regions if r["source"] == "rule"]
    read = [r for r in result.regions if r["source"] == "ocr"]
    assert len(rules) == 1 and rules[0]["y1"] == pytest.approx(band / int(source.Rows))
    assert any(r["y1"] <= band / int(source.Rows) for r in read)


def test_refused_document_keeps_no_candidate(keys: PseudonymKeys) -> None:
    ds = parse(read_bytes(ultrasound_path("GREYSCALE_IMAGE.dcm")))
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.104.1"  # encapsulated PDF: never inspectable
    result = deidentify_dicom(to_bytes(ds), keys, "h")
    assert result.status == "quarantined" and result.candidate is None


@pytest.mark.parametrize(
    ("name", "band"),
    [("GREYSCALE_IMAGE.dcm", 38), ("RGB_IMAGE.dcm", 60), ("ultrasound-multiframe.dcm", 30)],
)
def test_ultrasound_cleaned_region_is_zero_and_rest_unchanged(
    name: str, band: int, keys: PseudonymKeys
) -> None:
    data = read_bytes(ultrasound_path(name))
    source = parse(data)
    before = np.asarray(source.pixel_array)
    if name != "ultrasound-multiframe.dcm":  # that sample's header band is already black
        assert before[:band].any()
    result = deidentify_dicom(data, keys, "h", CLEAN)
    assert result.status == "ok", result.reason
    assert result.output is not None
    out = parse(result.output)
    after = np.asarray(out.pixel_array)
    assert after.shape == before.shape
    frames = after if after.ndim == 4 or (after.ndim == 3 and out.SamplesPerPixel == 1) else None
    top = frames[:, :band] if frames is not None else after[:band]
    rest_after = frames[:, band:] if frames is not None else after[band:]
    rest_before = before[:, band:] if frames is not None else before[band:]
    assert not top.any()  # every pixel of the demographics band is 0
    # Below the band only the lines OCR read were blanked: pixels kept or set to 0, and
    # most of the image untouched.
    changed = rest_after != rest_before
    assert not rest_after[changed].any()
    assert changed.mean() < 0.05
    assert out.BurnedInAnnotation == "NO"
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert "113101" in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
    assert result.metadata["burned_in_annotation"] == "NO"


def _as_ultrasound_with_header_band(name: str, band: int) -> bytes:
    """A real sample in its own transfer syntax, made an ultrasound whose regions
    start ``band`` rows down (so the band above them is the one to blank)."""
    source = parse(read_bytes(sample_path(name)))
    region = Dataset()
    region.RegionLocationMinX0 = 0
    region.RegionLocationMinY0 = band
    region.RegionLocationMaxX1 = int(source.Columns) - 1
    region.RegionLocationMaxY1 = int(source.Rows) - 1
    source.Modality = "US"
    source.SequenceOfUltrasoundRegions = Sequence([region])
    return to_bytes(source)


@pytest.mark.parametrize(
    ("name", "expected_syntax"),
    [
        ("MR_small_RLE.dcm", RLELossless),  # lossless with an encoder: same syntax
        ("MR_small_jpeg_ls_lossless.dcm", JPEGLSLossless),
        ("MR_small_jp2klossless.dcm", JPEG2000Lossless),
        ("693_J2KI.dcm", JPEGLSLossless),  # lossy J2K: no second lossy generation
        ("SC_rgb_dcmtk_+eb+cy+np.dcm", JPEGLSLossless),  # JPEG baseline, RGB
        ("SC_rgb_jpeg_gdcm.dcm", JPEGLSLossless),  # JPEG lossless SV1 (no encoder), RGB
        ("JPGExtended.dcm", JPEGLSLossless),  # JPEG extended, 12 bit
        ("OBXXXX1A_rle_2frame.dcm", RLELossless),  # multi-frame, palette colour
        ("MR_small.dcm", ExplicitVRLittleEndian),
        ("MR_small_implicit.dcm", ImplicitVRLittleEndian),
        ("MR_small_bigendian.dcm", ExplicitVRLittleEndian),
        ("image_dfl.dcm", DeflatedExplicitVRLittleEndian),
    ],
)
def test_every_transfer_syntax_is_decoded_cleaned_and_re_encoded(
    name: str, expected_syntax: str, keys: PseudonymKeys
) -> None:
    data = _as_ultrasound_with_header_band(name, 16)
    source = parse(data)
    plan = cleaning_regions(source)  # a vendor rule may win over the regions' band
    assert plan is not None
    band = plan[1][0].y1
    before = np.asarray(source.pixel_array)
    result = deidentify_dicom(data, keys, "h", CLEAN)
    assert result.status == "ok", result.reason
    assert result.output is not None and result.actions["pixels"] == 1
    out = parse(result.output)
    assert out.file_meta.TransferSyntaxUID == expected_syntax
    assert out.SOPInstanceUID == keys.uid(source.SOPInstanceUID)  # no new UID on re-encode
    after = np.asarray(out.pixel_array)
    assert after.shape == before.shape
    multi = int(out.get("NumberOfFrames", 1) or 1) > 1
    top, rest = (slice(None), slice(0, band)), (slice(None), slice(band, None))
    if not multi:
        top, rest = (slice(0, band),), (slice(band, None),)
    assert not after[top].any()  # every pixel of the header band is 0 in every frame
    if result.screening["lines"] == 0:
        assert np.array_equal(after[rest], before[rest])  # the rest survives exactly
    else:  # the sample's own burned-in lines (OBXXXX1A's) were blanked too, nothing else
        changed = after[rest] != before[rest]
        assert not after[rest][changed].any() and changed.mean() < 0.05
    if str(source.PhotometricInterpretation).startswith("YBR"):
        assert out.PhotometricInterpretation == "RGB"
    assert out.BurnedInAnnotation == "NO"


@pytest.mark.parametrize("options", [frozenset(), CLEAN], ids=["plain", "clean"])
def test_secondary_capture_without_text_is_released_unchanged(
    options: frozenset[str], keys: PseudonymKeys
) -> None:
    """Modality and SOP class no longer withhold an image: OCR finds no text here."""
    data = read_bytes(sample_path("SC_rgb_rle.dcm"))
    result = deidentify_dicom(data, keys, "h", options)
    assert result.status == "ok", result.reason
    assert result.screening["frames"] == 1 and result.screening["lines"] == 0
    assert result.output is not None
    assert np.array_equal(parse(result.output).pixel_array, parse(data).pixel_array)


def test_burned_in_flag_on_ordinary_modality_is_honoured(keys: PseudonymKeys) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    assert deidentify_dicom(to_bytes(source), keys, "h").status == "ok"
    source.BurnedInAnnotation = "YES"
    result = deidentify_dicom(to_bytes(source), keys, "h")
    assert result.status == "quarantined"
    assert "BurnedInAnnotation=YES" in (result.reason or "")


def test_pixels_no_decoder_can_read_are_quarantined(keys: PseudonymKeys) -> None:
    # A real JPEG Extended 12-bit file whose scan no installed decoder accepts.
    data = _as_ultrasound_with_header_band("JPEG-lossy.dcm", 16)
    result = deidentify_dicom(data, keys, "h", CLEAN)
    assert result.status == "quarantined" and result.output is None
    assert result.reason == (
        "pixel data could not be decoded (RuntimeError); text in pixels cannot be ruled out"
    )


def test_gdcm_never_decodes_what_a_sender_controls() -> None:
    """GDCM aborts the process on some malformed codestreams (found by the fuzz run):
    the anonymizer decodes every image, so it must not be among the decoders."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, JPEGLosslessSV1, JPEGLSLossless

    import medshare_anonymizer.pixels.cleaning  # noqa: F401 (configures the decoders)

    for syntax in (JPEGBaseline8Bit, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless):
        plugins = get_decoder(syntax).available_plugins
        assert "gdcm" not in plugins and plugins, syntax.name
