"""Replacement values: dummies per VR, shifted dates, age bands."""

from __future__ import annotations

from datetime import date, timedelta

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


def shift_da(value: str, days: int) -> str | None:
    """Shifts a DA value ("YYYYMMDD"); None when it cannot be parsed (then removed)."""
    text = value.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        shifted = date(int(text[:4]), int(text[4:6]), int(text[6:8])) + timedelta(days=days)
    except ValueError:
        return None
    return shifted.strftime("%Y%m%d")


def shift_dt(value: str, days: int) -> str | None:
    """Shifts the date part of a DT value; time, fraction and offset are kept.

    Shifting by whole days keeps every time of day (TM) consistent with its date, so
    TM values are left as they are under the modified-dates option.
    """
    text = value.strip()
    if len(text) < 8:
        return None  # year or year-month only: a day shift cannot be applied
    shifted = shift_da(text[:8], days)
    return None if shifted is None else shifted + text[8:]


def shift_multi(values: list[str], days: int, vr: str) -> list[str] | None:
    shift = shift_da if vr == "DA" else shift_dt
    out = []
    for value in values:
        shifted = shift(value, days)
        if shifted is None:
            return None
        out.append(shifted)
    return out


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
