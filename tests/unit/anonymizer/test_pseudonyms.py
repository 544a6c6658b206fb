from __future__ import annotations

import re

import pytest

from medshare_anonymizer.pseudonyms import PseudonymKeys

KEYS = PseudonymKeys(b"secret-one-0123456789abcdef")
OTHER = PseudonymKeys(b"secret-two-0123456789abcdef")


def test_patient_pseudonym_is_stable_and_keyed() -> None:
    first = KEYS.patient_pseudonym("hospital-a", "12345")
    assert re.fullmatch(r"P-[0-9A-F]{16}", first)
    assert (
        PseudonymKeys(b"secret-one-0123456789abcdef").patient_pseudonym("hospital-a", "12345")
        == first
    )
    assert OTHER.patient_pseudonym("hospital-a", "12345") != first


def test_patient_pseudonym_depends_on_institution_and_id() -> None:
    base = KEYS.patient_pseudonym("hospital-a", "12345")
    assert KEYS.patient_pseudonym("hospital-b", "12345") != base
    assert KEYS.patient_pseudonym("hospital-a", "12346") != base
    # Separators keep ("a1", "2") apart from ("a", "12").
    assert KEYS.patient_pseudonym("a1", "2") != KEYS.patient_pseudonym("a", "12")


def test_date_shift_is_in_range_never_zero_and_varies() -> None:
    shifts = {KEYS.date_shift_days(f"P-{i:016X}") for i in range(400)}
    assert all(-365 <= shift <= -1 for shift in shifts)
    assert len(shifts) > 100
    assert KEYS.date_shift_days("P-1") == KEYS.date_shift_days("P-1")


def test_uid_is_valid_stable_and_distinct() -> None:
    uid = KEYS.uid("1.2.3.4.5")
    assert uid.startswith("2.25.")
    assert len(uid) <= 64
    assert re.fullmatch(r"2\.25\.[1-9][0-9]*", uid)
    assert KEYS.uid("1.2.3.4.5") == uid
    assert KEYS.uid("1.2.3.4.6") != uid
    assert OTHER.uid("1.2.3.4.5") != uid


def test_surrogate_id_fits_sh_and_separates_kinds() -> None:
    value = KEYS.surrogate_id("accession", "A100")
    assert len(value) == 16
    assert KEYS.surrogate_id("study-id", "A100") != value
    assert KEYS.surrogate_id("accession", "A100") == value


def test_empty_secret_rejected() -> None:
    with pytest.raises(ValueError):
        PseudonymKeys(b"")
