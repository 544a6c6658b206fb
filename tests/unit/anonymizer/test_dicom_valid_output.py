"""The rewrites that keep outputs valid: dummy items, binary timestamps, palette tables."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medshare_anonymizer.dicom.dates import shift_ptp_timestamp
from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pixels.cleaning import clean_pixels
from medshare_anonymizer.pixels.regions import Box
from medshare_anonymizer.pseudonyms import PseudonymKeys

from .conftest import parse, read_bytes, sample_path, to_bytes


def _run(source: Dataset, keys: PseudonymKeys, *options: str) -> Dataset:
    result = deidentify_dicom(to_bytes(source), keys, "h", frozenset(options))
    assert result.status == "ok" and result.output is not None, result.reason
    return parse(result.output)


def test_d_on_a_sequence_keeps_one_dummy_item_of_the_same_shape(keys: PseudonymKeys) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    observer = Dataset()
    observer.VerifyingObserverName = "Quimby^Rosalind"
    observer.VerifyingOrganization = "Riverside General"
    observer.VerificationDateTime = "20200110101010"
    observer.VerifyingObserverIdentificationCodeSequence = Sequence()
    source.VerifyingObserverSequence = Sequence([observer, Dataset()])
    (item,) = _run(source, keys).VerifyingObserverSequence
    assert item.VerifyingObserverName == "ANONYMOUS"
    assert item.VerifyingOrganization == "ANONYMIZED"
    assert item.VerificationDateTime == "19000101000000"
    assert len(item.VerifyingObserverIdentificationCodeSequence) == 0


def test_frame_origin_timestamp_shifted_and_certified_timestamp_removed(
    keys: PseudonymKeys,
) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    stamp = (1_600_000_000).to_bytes(6, "big") + (123).to_bytes(4, "big")
    source.add_new(0x00340007, "OB", stamp)
    source.add_new(0x04000310, "OB", b"signed-token")
    result = deidentify_dicom(to_bytes(source), keys, "h",
                              frozenset({"retain-long-modified-dates"}))  # fmt: skip
    assert result.output is not None and result.patient_pseudonym is not None
    out = parse(result.output)
    days = keys.date_shift_days(result.patient_pseudonym)
    assert out[0x00340007].value == shift_ptp_timestamp(stamp, days) != stamp
    assert int.from_bytes(out[0x00340007].value[:6], "big") == 1_600_000_000 + days * 86400
    assert 0x04000310 not in out


def test_big_endian_palette_tables_are_swapped_when_written_little_endian() -> None:
    data = read_bytes(sample_path("OBXXXX1A_expb.dcm"))
    source = parse(data)
    output = parse(clean_pixels(data, [Box(0, 0, 1, 1)]))
    assert output.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    for colour in ("Red", "Green", "Blue"):
        keyword = f"{colour}PaletteColorLookupTableData"
        before = np.frombuffer(source[keyword].value, dtype=">u2")
        after = np.frombuffer(output[keyword].value, dtype="<u2")
        assert after.tolist() == before.tolist(), colour
