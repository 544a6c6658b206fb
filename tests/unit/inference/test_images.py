"""Pixels for image models: decoding real DICOM files, grey conversion, frames, input size."""

from __future__ import annotations

import numpy as np
import pytest

from medshare_inference.models.image_sources import pydicom_files
from medshare_inference.models.images import (
    ImageDecodeError,
    decode_dicom,
    frame_indices,
    model_input,
    prepare_dicom,
    to_grey,
)

FILES = {path.name: path for path in pydicom_files()}


def test_frame_indices_spread_over_the_clip() -> None:
    assert frame_indices(1, 3) == [0]
    assert frame_indices(2, 3) == [0, 1]
    assert frame_indices(30, 3) == [0, 14, 29]
    assert frame_indices(10, 1) == [0]
    assert len(frame_indices(120, 5)) == 5


def test_grey_uses_luminance_and_inverts_monochrome1() -> None:
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[..., 1] = 200  # pure green looks bright
    grey = to_grey(rgb, "RGB")
    assert grey.shape == (16, 16)
    assert grey[0, 0] == pytest.approx(0.587 * 200, rel=1e-4)
    ramp = np.arange(256, dtype=np.uint16).reshape(16, 16)
    inverted = to_grey(ramp, "MONOCHROME1")
    assert inverted[0, 0] == 255 and inverted[-1, -1] == 0
    with pytest.raises(ImageDecodeError, match="too small"):
        to_grey(np.zeros((3, 3)), "MONOCHROME2")


def test_model_input_is_square_windowed_and_finite() -> None:
    grey = np.random.default_rng(0).normal(1000, 300, size=(300, 500)).astype(np.float32)
    prepared = model_input(grey, 64)
    assert prepared.shape == (64, 64) and prepared.dtype == np.float32
    assert prepared.min() == 0.0 and prepared.max() == 1.0
    assert np.isfinite(prepared).all()
    assert model_input(np.full((40, 40), 7.0), 64).max() == 0.0  # a flat image stays flat


def test_decodes_real_single_and_multi_frame_files() -> None:
    [frame] = decode_dicom(FILES["CT_small.dcm"].read_bytes())
    assert frame.shape == (128, 128)
    frames = decode_dicom(FILES["emri_small.dcm"].read_bytes(), max_frames=3)
    assert len(frames) == 3 and frames[0].shape == (64, 64)
    assert not np.array_equal(frames[0], frames[-1])  # really different frames
    prepared = prepare_dicom(FILES["SC_rgb.dcm"].read_bytes(), 32, 3)
    assert len(prepared) == 1 and prepared[0].shape == (32, 32)


def test_unusable_objects_raise_a_decode_error_naming_the_problem() -> None:
    with pytest.raises(ImageDecodeError, match="not a readable DICOM file"):
        decode_dicom(b"%PDF-1.4 this is not an image")
    structured_report = FILES["test-SR.dcm"].read_bytes()
    with pytest.raises(ImageDecodeError, match="no pixel data"):
        decode_dicom(structured_report)
