"""The project's Annex E profile table and the effective action per tag under options.

Resolved actions are single letters: X remove, Z empty, D dummy, K keep, C clean,
U replace UIDs. Sequences with K, C or U are kept and walked item by item.

Combined codes (X/Z, X/D, Z/D, X/Z/D, X/Z/U*) mean "the first action unless the IOD
requires the attribute". medshare carries no IOD module tables, so the practical rule:

* keywords in ``TYPE1_REQUIRED`` (Type 1 in a common IOD) take D (or U* -> U);
* keywords in ``TYPE2_REQUIRED`` (Type 2 in a common IOD) take U where U* is
  offered, else the first action other than X (Z where offered, else D);
* every other attribute takes the first action (X, or Z for Z/D).

When several options apply to one attribute, the temporal options win (they are the
only ones about dates); otherwise C beats K because it retains less.

Beyond the table: UI attributes it does not list that identify instances are
replaced (U) like the listed ones, and DA/DT attributes it does not list are treated
like listed dates (removed; shifted under retain-long-modified-dates; kept under
retain-long-full-dates).

The table is built from the Annex E reference extraction by
``python -m medshare_anonymizer.dicom.profile [REFERENCE.json [OUTPUT.json]]``
(default reference: tables/reference/, a copy of the innolitics extraction). The output
(tables/confidentiality_profile_2024.json) is committed; the engine reads only that
file, so a new edition of the standard is a reviewed diff, not a silent change.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pydicom.datadict import DicomDictionary, keyword_for_tag, tag_for_keyword

from medshare_anonymizer.dicom.options import OPTIONS, TEMPORAL_OPTIONS, validate_options

EDITION = "2024"
PROFILE_DIR = Path(__file__).with_name("tables")
PROFILE_FILE = PROFILE_DIR / f"confidentiality_profile_{EDITION}.json"
SAFE_PRIVATE_FILE = PROFILE_DIR / "safe_private_creators.json"
DEFAULT_REFERENCE = PROFILE_DIR / "reference" / "confidentiality_profile_attributes.json"

# Type 1 in a common IOD: SR Document General (content date/time), Enhanced General
# Equipment (institution name, device serial number), enhanced MR/CT acquisition.
TYPE1_REQUIRED = frozenset(
    {"ContentDate", "ContentTime", "InstitutionName", "DeviceSerialNumber", "AcquisitionDateTime"}
)
# Type 2 (or 1C that we choose to keep) in a common IOD (patient, study, image modules).
TYPE2_REQUIRED = frozenset(
    {
        "PatientID",
        "PatientSexNeutered",  # Type 2C for non-human patients
        "AcquisitionContextSequence",
        "ContrastBolusAgent",
        "ContentCreatorName",
        "TreatmentMachineName",
        "InstructionPerformedDateTime",
        "OperatorsName",  # Type 2 in RT Series (Type 3, so may be empty, elsewhere)
        # Kept with their UIDs remapped so references between instances survive.
        "ReferencedImageSequence",
        "SourceImageSequence",
    }
)

# Unlisted UI attributes naming kinds of things rather than instances stay as they are.
_KEPT_UID_KEYWORDS = frozenset(
    {
        "CodingSchemeUID",
        "ContextGroupExtensionCreatorUID",
        "ContextUID",
        "MappingResourceUID",
        "CreatorVersionUID",
        "PrivateInformationCreatorUID",
    }
)

CURVE_DATA = "(50XX,XXXX)"
OVERLAY_DATA = "(60XX,3000)"
OVERLAY_COMMENTS = "(60XX,4000)"
PRIVATE = "private"


@dataclass(frozen=True)
class ProfileRow:
    tag: str  # "(GGGG,EEEE)", with XX wildcards, or "private"
    name: str
    keyword: str
    basic: str  # action code exactly as in the standard, e.g. "X/Z/D"
    options: dict[str, str]  # option name -> action code


@dataclass(frozen=True)
class Profile:
    edition: str
    provenance: dict[str, str]
    rows: tuple[ProfileRow, ...]


@cache
def load_profile(path: Path = PROFILE_FILE) -> Profile:
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = tuple(
        ProfileRow(row["tag"], row["name"], row["keyword"], row["basic"], dict(row["options"]))
        for row in data["attributes"]
    )
    return Profile(data["edition"], dict(data["provenance"]), rows)


def resolve_combined(code: str, keyword: str) -> str:
    """Applies the fallback rule to a standard action code (single codes pass through)."""
    parts = [part.rstrip("*") for part in code.split("/")]
    if len(parts) == 1:
        return parts[0]
    if keyword in TYPE1_REQUIRED:
        return next((part for part in parts if part in ("D", "U")), parts[-1])
    if keyword in TYPE2_REQUIRED:
        # U* keeps the sequence with its UIDs replaced, which is what linking needs.
        return "U" if "U" in parts else next(part for part in parts if part != "X")
    return parts[0]


def resolve_action(row: ProfileRow, options: frozenset[str]) -> str:
    """The effective action for one row under a validated option set."""
    for name in TEMPORAL_OPTIONS:
        if name in options and name in row.options:
            return row.options[name]
    chosen = [row.options[name] for name in sorted(options) if name in row.options]
    if chosen:
        return "C" if "C" in chosen else chosen[0]
    return resolve_combined(row.basic, row.keyword)


def _tag_value(tag_text: str) -> int:
    return int(tag_text.strip("()").replace(",", ""), 16)


@dataclass(frozen=True)
class ActionTable:
    """Precomputed tag -> action for one option set; built once, then only looked up."""

    options: frozenset[str]
    exact: dict[int, str]
    curve_data: str
    overlay_data: str
    overlay_comments: str
    private: str
    # (group, lower-cased private creator) -> kept element offsets (low byte)
    safe_private: dict[tuple[int, str], frozenset[int]]

    def action_for(self, tag: int) -> str | None:
        """The action for a tag, or None for attributes the profile does not list."""
        action = self.exact.get(tag)
        if action is not None:
            return action
        group = tag >> 16
        if group & 1:
            return self.private
        if 0x5000 <= group <= 0x50FF:
            return self.curve_data
        if 0x6000 <= group <= 0x60FF:
            element = tag & 0xFFFF
            if element == 0x3000:
                return self.overlay_data
            if element == 0x4000:
                return self.overlay_comments
        return None

    def is_safe_private(self, group: int, creator: str, element_offset: int) -> bool:
        kept = self.safe_private.get((group, creator.strip().lower()))
        return kept is not None and element_offset in kept


@cache
def _load_safe_private() -> dict[tuple[int, str], frozenset[int]]:
    data: dict[str, Any] = json.loads(SAFE_PRIVATE_FILE.read_text(encoding="utf-8"))
    return {
        (int(group, 16), creator.lower()): frozenset(int(offset, 16) for offset in offsets)
        for creator, groups in data["creators"].items()
        for group, offsets in groups.items()
    }


def _unlisted_uid_tags(listed: set[int]) -> list[int]:
    tags = []
    for tag, entry in DicomDictionary.items():
        vr, keyword = entry[0], entry[4]
        if vr != "UI" or tag in listed or tag >> 16 == 0x0002:
            continue
        if "Class" in keyword or "TransferSyntax" in keyword or keyword in _KEPT_UID_KEYWORDS:
            continue
        tags.append(tag)
    return tags


def _unlisted_date_tags(listed: set[int]) -> list[int]:
    """DA/DT attributes the table does not list (newer ones, e.g. ExpiryDate)."""
    return [tag for tag, entry in DicomDictionary.items()
            if entry[0] in ("DA", "DT") and tag not in listed]  # fmt: skip


def _unlisted_date_action(options: frozenset[str]) -> str:
    """Dates the table misses are treated like the dates it lists."""
    if "retain-long-full-dates" in options:
        return "K"
    return "C" if "retain-long-modified-dates" in options else "X"


@lru_cache(maxsize=64)
def _build_table(options: frozenset[str]) -> ActionTable:
    exact: dict[int, str] = {}
    wildcard: dict[str, str] = {}
    for row in load_profile().rows:
        action = resolve_action(row, options)
        if row.tag == PRIVATE or "XX" in row.tag:
            wildcard[row.tag] = action
        else:
            exact[_tag_value(row.tag)] = action
    uid_action = "K" if "retain-uids" in options else "U"
    for tag in _unlisted_uid_tags(set(exact)):
        exact[tag] = uid_action
    date_action = _unlisted_date_action(options)
    for tag in _unlisted_date_tags(set(exact)):
        exact[tag] = date_action
    return ActionTable(
        options=options,
        exact=exact,
        curve_data=wildcard[CURVE_DATA],
        overlay_data=wildcard[OVERLAY_DATA],
        overlay_comments=wildcard[OVERLAY_COMMENTS],
        private=wildcard[PRIVATE],
        safe_private=_load_safe_private(),
    )


def action_table(options: frozenset[str] | set[str] | tuple[str, ...] = frozenset()) -> ActionTable:
    """The cached action table for an option set (ValueError on unknown options)."""
    return _build_table(validate_options(options))


def keyword_tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return int(tag)


# Building the table file from the reference extraction.


def _reference_keyword(tag_text: str) -> str:
    hex_digits = tag_text.strip("()").replace(",", "")
    if len(hex_digits) != 8 or "X" in hex_digits.upper():
        return ""
    try:
        return keyword_for_tag(int(hex_digits, 16)) or ""
    except ValueError:
        return ""


def build_profile(reference_rows: list[dict[str, Any]], reference_sha256: str) -> dict[str, Any]:
    columns = {option.column: option.name for option in OPTIONS.values() if option.column}
    attributes = []
    for row in sorted(reference_rows, key=lambda r: str(r["id"])):
        private = "GGGG" in row["tag"].upper()
        attributes.append(
            {
                "tag": "private" if private else row["tag"].upper(),
                "reference_tag": row["tag"],
                "name": row["name"],
                "keyword": "" if private else _reference_keyword(row["tag"]),
                "in_standard_composite_iod": row.get("stdCompIOD") == "Y",
                "basic": row["basicProfile"],
                "options": {
                    columns[key]: value for key, value in sorted(row.items()) if key in columns
                },
            }
        )
    return {
        "edition": EDITION,
        "standard": "DICOM PS3.15 Annex E, Table E.1-1 "
        "(Application Level Confidentiality Profile Attributes)",
        "provenance": {
            "reference_file": "tables/reference/confidentiality_profile_attributes.json "
            "(copy of shared/data/dicom-ps3.15-annex-e/)",
            "reference_sha256": reference_sha256,
            "extracted_by": "innolitics/dicom-standard (MIT licence)",
            "generated_by": "medshare_anonymizer.dicom.profile",
        },
        "row_count": len(attributes),
        "options": {
            option.name: {
                "code": option.code,
                "coding_scheme": "DCM",
                "meaning": option.meaning,
                "reference_column": option.column,
            }
            for option in OPTIONS.values()
        },
        "attributes": attributes,
    }


def render(profile: dict[str, Any]) -> str:
    return json.dumps(profile, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    reference = Path(argv[0]) if argv else DEFAULT_REFERENCE
    output = Path(argv[1]) if len(argv) > 1 else PROFILE_FILE
    raw = reference.read_bytes()
    profile = build_profile(json.loads(raw), hashlib.sha256(raw).hexdigest())
    output.write_text(render(profile), encoding="utf-8")
    print(f"wrote {profile['row_count']} rows to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
