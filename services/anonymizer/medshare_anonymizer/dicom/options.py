"""The twelve PS3.15 Annex E profile options, by the names medshare uses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")


@dataclass(frozen=True)
class ProfileOption:
    name: str
    code: str  # DICOM code (scheme DCM) for DeidentificationMethodCodeSequence
    meaning: str
    column: str | None  # key in the reference table; None when the option acts on pixels


OPTIONS: dict[str, ProfileOption] = {
    option.name: option
    for option in (
        ProfileOption("clean-pixel-data", "113101", "Clean Pixel Data Option", None),
        ProfileOption(
            "clean-recognizable-visual-features",
            "113102",
            "Clean Recognizable Visual Features Option",
            None,
        ),
        ProfileOption("clean-graphics", "113103", "Clean Graphics Option", "cleanGraphOpt"),
        ProfileOption(
            "clean-structured-content",
            "113104",
            "Clean Structured Content Option",
            "cleanStructContOpt",
        ),
        ProfileOption("clean-descriptors", "113105", "Clean Descriptors Option", "cleanDescOpt"),
        ProfileOption(
            "retain-long-full-dates",
            "113106",
            "Retain Longitudinal Temporal Information Full Dates Option",
            "rtnLongFullDatesOpt",
        ),
        ProfileOption(
            "retain-long-modified-dates",
            "113107",
            "Retain Longitudinal Temporal Information Modified Dates Option",
            "rtnLongModifDatesOpt",
        ),
        ProfileOption(
            "retain-patient-characteristics",
            "113108",
            "Retain Patient Characteristics Option",
            "rtnPatCharsOpt",
        ),
        ProfileOption(
            "retain-device-identity", "113109", "Retain Device Identity Option", "rtnDevIdOpt"
        ),
        ProfileOption("retain-uids", "113110", "Retain UIDs Option", "rtnUIDsOpt"),
        ProfileOption(
            "retain-safe-private", "113111", "Retain Safe Private Option", "rtnSafePrivOpt"
        ),
        ProfileOption(
            "retain-institution-identity",
            "113112",
            "Retain Institution Identity Option",
            "rtnInstIdOpt",
        ),
    )
}

# Options that speak about dates win over any other option on the same attribute
# (e.g. Date of Last Calibration: device identity says K, modified dates says C).
TEMPORAL_OPTIONS = ("retain-long-full-dates", "retain-long-modified-dates")


def validate_options(options: Iterable[str]) -> frozenset[str]:
    """Checks option names; raises ValueError naming the first unknown one."""
    chosen = frozenset(options)
    for name in sorted(chosen):
        if name not in OPTIONS:
            raise ValueError(f"unknown de-identification option: {name!r}")
    if all(name in chosen for name in TEMPORAL_OPTIONS):
        raise ValueError(
            "options 'retain-long-full-dates' and 'retain-long-modified-dates' "
            "are mutually exclusive"
        )
    return chosen
