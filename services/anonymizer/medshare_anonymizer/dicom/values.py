"""Replacement values: dummies per VR (the D action) and age bands."""

from __future__ import annotations

DUMMY_DATE = "19000101"

# D: a non-empty value that carries no information, valid for the VR's length limits.
DUMMY_BY_VR: dict[str, object] = {
    "PN": "ANONYMOUS",
    "LO": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "UT": "ANONYMIZED",
    "UC": "ANONYMIZED",
    "CS": "ANONYMIZED",
    "AE": "ANONYMIZED",
    "UR": "ANONYMIZED",
    "DA": DUMMY_DATE,
    "TM": "000000",
    "DT": DUMMY_DATE + "000000",
    "AS": "000D",
    "IS": "0",
    "DS": "0",
    "US": 0,
    "SS": 0,
    "UL": 0,
    "SL": 0,
    "UV": 0,
    "SV": 0,
    "FL": 0.0,
    "FD": 0.0,
    "AT": 0,
    "OB": b"\x00\x00",
    "OW": b"\x00\x00",
    "OD": b"\x00" * 8,
    "OF": b"\x00" * 4,
    "OL": b"\x00" * 4,
    "OV": b"\x00" * 8,
    "UN": b"\x00\x00",
}


_NUMBER_WIDTHS = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "UV": 8, "SV": 8, "FL": 4, "FD": 8, "AT": 4}


def _encoded(vr: str, value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("ascii")
    return b"\x00" * _NUMBER_WIDTHS[vr]  # zero in either byte order


# The same dummies as encoded values (numbers are all zero, so byte order is moot).
DUMMY_BYTES: dict[str, bytes] = {vr: _encoded(vr, value) for vr, value in DUMMY_BY_VR.items()}


def dummy_bytes(vr: str) -> bytes:
    return DUMMY_BYTES.get(vr, b"ANONYMIZED")


def age_band(age: str) -> str | None:
    """Decade band from an AS value ("065Y" -> "60-69"); 90 and over pooled (Safe Harbor)."""
    text = age.strip().upper()
    if len(text) != 4 or not text[:3].isdigit() or text[3] not in "DWMY":
        return None
    years = int(text[:3]) if text[3] == "Y" else 0
    if years >= 90:
        return "90+"
    low = years // 10 * 10
    return f"{low}-{low + 9}"
