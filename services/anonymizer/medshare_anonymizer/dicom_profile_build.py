"""Regenerates the project's profile table from the Annex E reference extraction.

Run: python -m medshare_anonymizer.dicom_profile_build [REFERENCE.json [OUTPUT.json]]
(default reference: profile/reference/, a copy of the innolitics extraction). The
output (profile/confidentiality_profile_2024.json) is committed; the engine reads only
that file, so a new edition of the standard is a reviewed diff, not a silent change.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from pydicom.datadict import keyword_for_tag

from medshare_anonymizer.dicom_options import OPTIONS

EDITION = "2024"
PROFILE_DIR = Path(__file__).with_name("profile")
DEFAULT_OUTPUT = PROFILE_DIR / f"confidentiality_profile_{EDITION}.json"
DEFAULT_REFERENCE = PROFILE_DIR / "reference" / "confidentiality_profile_attributes.json"


def _keyword(tag_text: str) -> str:
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
                "keyword": "" if private else _keyword(row["tag"]),
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
            "reference_file": "profile/reference/confidentiality_profile_attributes.json "
            "(copy of shared/data/dicom-ps3.15-annex-e/)",
            "reference_sha256": reference_sha256,
            "extracted_by": "innolitics/dicom-standard (MIT licence)",
            "generated_by": "medshare_anonymizer.dicom_profile_build",
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
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    raw = reference.read_bytes()
    profile = build_profile(json.loads(raw), hashlib.sha256(raw).hexdigest())
    output.write_text(render(profile), encoding="utf-8")
    print(f"wrote {profile['row_count']} rows to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
