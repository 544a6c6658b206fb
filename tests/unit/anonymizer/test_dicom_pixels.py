from __future__ import annotations

import numpy as np
import pytest
from pydicom.uid import ExplicitVRLittleEndian

from medshare_anonymizer.dicom_deid import deidentify_dicom
from medshare_anonymizer.pixel_rules import burned_in_suspicion, cleaning_regions
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
    assert "burned-in annotation suspected" in (result.reason or "")
    assert "clean-pixel-data not enabled" in (result.reason or "")
    source = parse(data)
    assert str(source.PatientName).split("^")[0] not in (result.reason or "")


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
    assert np.array_equal(rest_after, rest_before)
    assert out.BurnedInAnnotation == "NO"
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert "113101" in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
    assert result.metadata["burned_in_annotation"] == "NO"


def test_compressed_ultrasound_is_decoded_cleaned_and_written_uncompressed(
    keys: PseudonymKeys,
) -> None:
    for name in ("OBXXXX1A_rle.dcm", "color3d_jpeg_baseline.dcm"):
        data = read_bytes(sample_path(name))
        source = parse(data)
        assert source.file_meta.TransferSyntaxUID.is_compressed
        plan = cleaning_regions(source)
        assert plan is not None
        band = plan[1][0].y1
        result = deidentify_dicom(data, keys, "h", CLEAN)
        assert result.status == "ok", result.reason
        assert result.output is not None
        out = parse(result.output)
        assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        pixels = np.asarray(out.pixel_array)
        multi = int(out.get("NumberOfFrames", 1) or 1) > 1
        top = pixels[:, :band] if multi else pixels[:band]
        assert not top.any()
        if str(source.PhotometricInterpretation).startswith("YBR"):
            assert out.PhotometricInterpretation == "RGB"


def test_secondary_capture_without_rule_stays_quarantined(keys: PseudonymKeys) -> None:
    data = read_bytes(sample_path("SC_rgb_rle.dcm"))
    assert burned_in_suspicion(parse(data)) is not None
    result = deidentify_dicom(data, keys, "h", CLEAN)
    assert result.status == "quarantined"
    assert "no pixel-cleaning rule" in (result.reason or "")


def test_burned_in_flag_on_ordinary_modality_is_honoured(keys: PseudonymKeys) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    assert deidentify_dicom(to_bytes(source), keys, "h").status == "ok"
    source.BurnedInAnnotation = "YES"
    result = deidentify_dicom(to_bytes(source), keys, "h")
    assert result.status == "quarantined"
    assert "BurnedInAnnotation=YES" in (result.reason or "")
