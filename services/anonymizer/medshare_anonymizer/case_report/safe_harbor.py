"""HIPAA Safe Harbor (45 CFR 164.514(b)(2)) rules for structured case-report fields.

The 18 identifier classes, the ZIP-code rule (first three digits, "000" for the
restricted prefixes), the age rule (over 89 pooled as "90+") and the date rule (year
only, or the per-patient shift). Pure functions: no I/O, no keys.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

DateMode = Literal["year", "shift"]

# What a release may honestly be called. Safe Harbor keeps no element of a date but
# the year (164.514(b)(2)(i)(C)); a full date moved by a per-patient offset is still a
# full date, so shift mode is its own method and says so.
SAFE_HARBOR = "HIPAA Safe Harbor 45 CFR 164.514(b)(2)"
SHIFTED_DATES = "Safe Harbor except dates: dates shifted per patient"


def method_label(mode: DateMode) -> str:
    """The de-identification method a case report released in this date mode follows."""
    return SAFE_HARBOR if mode == "year" else SHIFTED_DATES


# The 18 identifier classes of 164.514(b)(2)(i)(A)-(R), keyed as they appear in the
# de-identification report's action counts.
IDENTIFIER_CLASSES: dict[str, str] = {
    "name": "(A) names",
    "geographic": "(B) geographic subdivisions smaller than a state, ZIP codes",
    "date": "(C) elements of dates (except year) related to the individual; ages over 89",
    "phone": "(D) telephone numbers",
    "fax": "(E) fax numbers",
    "email": "(F) e-mail addresses",
    "ssn": "(G) social security numbers",
    "mrn": "(H) medical record numbers",
    "health_plan": "(I) health plan beneficiary numbers",
    "account": "(J) account numbers",
    "license": "(K) certificate/license numbers",
    "vehicle": "(L) vehicle identifiers and serial numbers, including license plates",
    "device": "(M) device identifiers and serial numbers",
    "url": "(N) web URLs",
    "ip": "(O) IP addresses",
    "biometric": "(P) biometric identifiers, including finger and voice prints",
    "photo": "(Q) full-face photographs and comparable images",
    "other_id": "(R) any other unique identifying number, characteristic, or code",
}

# Three-digit ZIP prefixes whose areas held 20,000 people or fewer in the 2000 Census
# (HHS guidance on Safe Harbor); they are replaced by "000".
RESTRICTED_ZIP3 = frozenset(
    {"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831",
     "878", "879", "884", "890", "893"}
)  # fmt: skip
_US_ZIP = re.compile(r"^\s*(\d{5})(?:-?\d{4})?\s*$")
_US_COUNTRIES = frozenset(
    {"", "US", "USA", "U.S.", "U.S.A.", "UNITED STATES", "UNITED STATES OF AMERICA"}
)
OLDEST_REPORTED_AGE = 89

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire",
    "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "DC": "District of Columbia",
    "PR": "Puerto Rico",
}  # fmt: skip


def zip3(postal_code: str | None, country: str | None = None) -> str | None:
    """The releasable part of a US ZIP code: its first three digits, or "000".

    Anything that is not a US five-digit ZIP (or ZIP+4) gives None: Safe Harbor's
    population rule cannot be applied to it, so nothing of it is kept.
    """
    if not postal_code or (country or "").strip().upper() not in _US_COUNTRIES:
        return None
    match = _US_ZIP.match(postal_code)
    if match is None:
        return None
    prefix = match.group(1)[:3]
    return "000" if prefix in RESTRICTED_ZIP3 else prefix


def state_name(state: str | None) -> str | None:
    """A US state (allowed by Safe Harbor) as its two-letter code, else None."""
    if not state:
        return None
    text = state.strip()
    if text.upper() in US_STATES:
        return text.upper()
    for code, name in US_STATES.items():
        if name.lower() == text.lower():
            return code
    return None


def age_in_years(birth: date, on: date) -> int:
    """Completed years between a birth date and a later date."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return max(years, 0)


def reported_age(age: int) -> str:
    """Ages over 89 are pooled into one category."""
    return "90+" if age > OLDEST_REPORTED_AGE else str(age)


def age_band(age: int) -> str:
    """Decade band ("60-69"); 90 and over pooled, like the DICOM path's bands."""
    if age > OLDEST_REPORTED_AGE:
        return "90+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def shift_date(value: date, days: int) -> date:
    """The per-patient shifted date (OverflowError stays with the caller)."""
    return value + timedelta(days=days)


def transform_date(value: date, mode: DateMode, shift_days: int | None) -> str:
    """A date as released: "YYYY" in year mode, the shifted ISO date in shift mode."""
    if mode == "year":
        return f"{value.year:04d}"
    if shift_days is None:
        raise ValueError("shift mode needs the patient's date shift")
    return shift_date(value, shift_days).isoformat()


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def _ordinal(day: int) -> str:
    if day in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def date_renderings(value: date) -> list[str]:
    """Ways a full date may be written in text (for the verifier's needles)."""
    y, m, d = value.year, value.month, value.day
    month, short = _MONTHS[m - 1], _MONTHS[m - 1][:3]
    forms = {
        f"{y:04d}-{m:02d}-{d:02d}", f"{y:04d}{m:02d}{d:02d}", f"{y:04d}/{m:02d}/{d:02d}",
        f"{m:02d}/{d:02d}/{y:04d}", f"{m}/{d}/{y:04d}", f"{m:02d}-{d:02d}-{y:04d}",
        f"{m}-{d}-{y:04d}", f"{d:02d}.{m:02d}.{y:04d}", f"{d}.{m}.{y:04d}",
        f"{d:02d}/{m:02d}/{y:04d}", f"{m:02d}/{d:02d}/{y % 100:02d}", f"{m}/{d}/{y % 100:02d}",
        f"{month} {d}, {y}", f"{month} {d} {y}", f"{d} {month} {y}", f"{short} {d}, {y}",
        f"{short} {d} {y}", f"{d} {short} {y}", f"{short}. {d}, {y}", f"{short}. {d} {y}",
        f"{d}-{short}-{y}", f"{d:02d}-{short}-{y}", f"{y:04d}.{m:02d}.{d:02d}",
        f"{d}/{m}/{y:04d}", f"{d}-{m}-{y:04d}", f"{d:02d}-{m:02d}-{y:04d}",
        f"{month} {d}{_ordinal(d)}, {y}", f"{month} {d}{_ordinal(d)} {y}",
        f"{d}{_ordinal(d)} {month} {y}", f"{d}{_ordinal(d)} of {month} {y}",
        f"{d}{_ordinal(d)} {short} {y}",
    }  # fmt: skip
    return sorted(forms, key=len, reverse=True)
