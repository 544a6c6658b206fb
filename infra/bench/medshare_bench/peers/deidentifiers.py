"""The de-identifiers `medshare bench deid` compares, each as bytes in, bytes out.

* medshare: ``deidentify_dicom`` (verified; refuses what it cannot make safe);
* dicognito: ``dicognito.anonymizer.Anonymizer().anonymize(dataset)`` (its 0.19
  command line is broken), one anonymizer for the whole corpus as its CLI does;
* deid (pydicom/deid): ``replace_identifiers`` with a recipe generated from the same
  resolved Annex E action table medshare uses, so both apply the same policy (deid
  has no wildcard for the 50xx/60xx groups; private tags go with remove_private).

Each ``run`` returns the output bytes, or None when the tool refused the instance;
an exception means the tool failed on it.
"""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path
from typing import Any, Protocol

from pydicom import dcmread
from pydicom.datadict import dictionary_VR

from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.dicom.profile import PRIVATE, action_table, load_profile
from medshare_anonymizer.pseudonyms import PseudonymKeys

BENCH_SECRET = b"medshare-bench-secret-0123456789"


class Tool(Protocol):
    name: str

    def run(self, data: bytes) -> bytes | None: ...


class Medshare:
    name = "medshare"

    def __init__(self, options: frozenset[str]) -> None:
        self.keys = PseudonymKeys(BENCH_SECRET)
        self.options = options
        self.last_status = ""  # ok, quarantined or rejected
        # Seconds the last instance spent looking for text in its pixels, and in OCR.
        self.last_pixel_seconds = self.last_ocr_seconds = 0.0

    def run(self, data: bytes) -> bytes | None:
        result = deidentify_dicom(data, self.keys, "bench", self.options)
        self.last_status = result.status
        screening = result.screening
        self.last_ocr_seconds = screening.get("ocr_seconds", 0.0)
        self.last_pixel_seconds = self.last_ocr_seconds + screening.get(
            "screen_seconds", 0.0) + screening.get("decode_seconds", 0.0)  # fmt: skip
        return result.output


def _save(ds: Any) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


class Dicognito:
    name = "dicognito"

    def __init__(self) -> None:
        from dicognito.anonymizer import Anonymizer

        self.anonymizer = Anonymizer()

    def run(self, data: bytes) -> bytes | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(data))
            self.anonymizer.anonymize(ds)
            return _save(ds)


_DUMMY_TEXT = {"DA": "19000101", "TM": "000000", "DT": "19000101000000"}
_TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})


def deid_recipe(options: frozenset[str] = frozenset()) -> str:
    """A pydicom/deid recipe applying the resolved Annex E actions."""
    table = action_table(options)
    lines = ["FORMAT dicom", "", "%header", ""]
    for row in load_profile().rows:
        if row.tag == PRIVATE or "X" in row.tag:
            continue  # deid has no wildcard tags; private tags: remove_private
        tag = int(row.tag.strip("()").replace(",", ""), 16)
        action = table.action_for(tag)
        try:
            vr = str(dictionary_VR(tag)).split(" or ")[0]
        except KeyError:
            vr = "UN"
        field = row.tag
        if action == "X":
            lines.append(f"REMOVE {field}")
        elif action == "Z" or (action == "D" and vr not in _TEXT_VRS | set(_DUMMY_TEXT) | {"UI"}):
            lines.append(f"BLANK {field}")
        elif action in ("D", "U") and vr == "UI":
            lines.append(f"REPLACE {field} deid_func:pydicom_uuid")
        elif action == "D":
            lines.append(f"REPLACE {field} {_DUMMY_TEXT.get(vr, 'ANONYMIZED')}")
    return "\n".join(lines) + "\n"


class Deid:
    name = "deid"

    def __init__(self, options: frozenset[str] = frozenset()) -> None:
        import logging

        from deid.config import DeidRecipe
        from deid.logger import bot

        bot.level = 0  # deid prints a line per field otherwise
        logging.getLogger("deid").setLevel(logging.ERROR)
        self.folder = tempfile.TemporaryDirectory(prefix="medshare-bench-deid-")
        recipe = Path(self.folder.name) / "annex-e.dicom"
        recipe.write_text(deid_recipe(options), encoding="utf-8")
        self.recipe = DeidRecipe(str(recipe))

    def run(self, data: bytes) -> bytes | None:
        from deid.dicom import replace_identifiers

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(data))
            out = replace_identifiers([ds], deid=self.recipe, save=False, remove_private=True)
            return _save(out[0])
