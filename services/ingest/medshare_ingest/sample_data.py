"""Real DICOM files for benchmarks and tests, made new on demand.

The files are pydicom's and pydicom-data's (real images, fictional patients). A
benchmark must not let dedupe short-circuit its work, so `renewed` gives an
instance fresh Study/Series/SOP Instance UIDs: new bytes, same content and size.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pydicom
from pydicom.uid import generate_uid

from medshare_ingest.limits import InvalidSubmission
from medshare_ingest.validation import validate_dicom


def installed_dicom_files() -> list[Path]:
    """Globbed from the installed folders (`get_testdata_files` would try to download)."""
    import pydicom.data
    from pydicom.data.data_manager import external_data_sources

    roots = [Path(pydicom.data.__file__).parent / "test_files"]
    roots += [Path(source.data_path) for source in external_data_sources().values()]
    found = {path for root in roots for path in root.rglob("*.dcm") if path.is_file()}
    return sorted(found, key=lambda path: (path.stat().st_size, path.name))


def diverse_samples(limit: int, max_bytes: int = 600_000) -> list[Path]:
    """Up to `limit` files ingest accepts, one per (SOP class, transfer syntax) first."""
    by_kind: dict[tuple[str, str], list[Path]] = {}
    for path in installed_dicom_files():
        if path.stat().st_size > max_bytes:
            continue
        try:
            facts = validate_dicom(path.read_bytes())
        except InvalidSubmission:
            continue  # some of pydicom's files are broken on purpose
        by_kind.setdefault((facts.sop_class_uid, facts.transfer_syntax_uid), []).append(path)
    chosen: list[Path] = []
    round_index = 0
    while len(chosen) < limit and any(len(paths) > round_index for paths in by_kind.values()):
        for paths in by_kind.values():
            if len(paths) > round_index and len(chosen) < limit:
                chosen.append(paths[round_index])
        round_index += 1
    return chosen


def renewed(data: bytes, **attributes: Any) -> bytes:
    """The same instance with fresh Study/Series/SOP Instance UIDs (new bytes, same content)."""
    dataset = pydicom.dcmread(io.BytesIO(data))
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    for name, value in attributes.items():
        setattr(dataset, name, value)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
