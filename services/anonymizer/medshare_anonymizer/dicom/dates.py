"""Date shifting for retain-long-modified-dates: DA and DT values moved by whole days.

The shift is per patient (``PseudonymKeys.date_shift_days``), so intervals between one
patient's studies survive while the calendar dates do not.
"""

from __future__ import annotations

from datetime import date, timedelta


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


PTP_TIMESTAMP_LENGTH = 10  # IEEE 1588: 48-bit seconds then 32-bit nanoseconds, big endian


def shift_ptp_timestamp(raw: bytes, days: int) -> bytes | None:
    """Shifts a binary PTP timestamp (Frame Origin Timestamp) by whole days, else None."""
    if len(raw) != PTP_TIMESTAMP_LENGTH:
        return None
    seconds = int.from_bytes(raw[:6], "big") + days * 86400
    if not 0 <= seconds < 1 << 48:
        return None
    return seconds.to_bytes(6, "big") + raw[6:]
