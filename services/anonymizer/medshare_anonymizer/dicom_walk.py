"""One in-place pass over a dataset applying the resolved profile actions.

Elements the profile does not list are never converted from their raw bytes (only
looked up), which keeps the pass cheap; sequences are walked at every depth.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydicom.datadict import DicomDictionary
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from medshare_anonymizer.dicom_profile import ActionTable
from medshare_anonymizer.dicom_values import dummy_value, shift_multi
from medshare_anonymizer.dicom_verifier import WELL_KNOWN_UID_ROOT, PhiNeedles
from medshare_anonymizer.pseudonyms import PseudonymKeys

SEQUENCE_TAGS = frozenset(tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ")
_TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "PN", "AE", "UR"})
_STRING_VRS = _TEXT_VRS | {"CS", "DA", "DT", "TM", "AS", "IS", "DS", "UI"}

PATIENT_NAME, PATIENT_ID = 0x00100010, 0x00100020
ACCESSION_NUMBER, STUDY_ID = 0x00080050, 0x00200010


@dataclass
class DatasetWalker:
    table: ActionTable
    keys: PseudonymKeys
    institution: str
    patient_pseudonym: str
    shift_days: int | None  # set only under retain-long-modified-dates
    needles: PhiNeedles
    counts: Counter[str] = field(default_factory=Counter)
    _uid_map: dict[str, str] = field(default_factory=dict)

    def map_uid(self, uid: str) -> str:
        uid = uid.strip().rstrip("\x00")
        if not uid or uid.startswith(WELL_KNOWN_UID_ROOT):
            return uid
        mapped = self._uid_map.get(uid)
        if mapped is None:
            mapped = self._uid_map[uid] = self.keys.uid(uid)
        return mapped

    def walk(self, ds: Dataset) -> None:
        private_blocks_seen = False
        for tag in list(ds.keys()):
            if tag & 0xFFFF == 0:  # group lengths would be stale after editing
                del ds[tag]
                continue
            if (tag >> 16) & 1:
                private_blocks_seen = True
                self._private(ds, tag)
                continue
            action = self.table.action_for(tag)
            if action is None:
                raw = ds.get_item(tag)
                if raw is not None and (
                    raw.VR == "SQ" or (raw.VR is None and tag in SEQUENCE_TAGS)
                ):
                    self._walk_items(ds, tag)
                continue
            self._apply(ds, tag, action)
        if private_blocks_seen:
            self._drop_orphan_creators(ds)

    def _walk_items(self, ds: Dataset, tag: int) -> None:
        for item in ds[tag].value:
            self.walk(item)

    def _apply(self, ds: Dataset, tag: int, action: str) -> None:
        if action == "X":
            del ds[tag]
            self.counts["X"] += 1
            return
        elem = ds[tag]
        vr = str(elem.VR)
        if vr == "SQ":
            if action in ("Z", "D"):
                elem.value = []  # no dummy items: an empty sequence carries nothing
            else:
                self._walk_items(ds, tag)
            self.counts[action] += 1
            return
        if tag in (PATIENT_NAME, PATIENT_ID, ACCESSION_NUMBER, STUDY_ID) and action in ("Z", "D"):
            self._pseudonymize(ds, tag)
            return
        if action == "K":
            self.counts["K"] += 1
        elif action == "U":
            self._replace_uids(ds, tag)
        elif action == "Z":
            elem.value = "" if vr in _STRING_VRS else None
            self.counts["Z"] += 1
        elif action == "D":
            if vr == "UI":
                self._replace_uids(ds, tag)
            else:
                elem.value = dummy_value(vr)
                self.counts["D"] += 1
        else:
            self._clean(ds, tag, vr)

    def _pseudonymize(self, ds: Dataset, tag: int) -> None:
        elem = ds[tag]
        value = str(elem.value or "").strip()
        if tag == PATIENT_NAME:
            elem.value = self.patient_pseudonym
        elif tag == PATIENT_ID:
            elem.value = (
                self.keys.patient_pseudonym(self.institution, value)
                if value
                else self.patient_pseudonym
            )
        elif value:
            kind = "accession" if tag == ACCESSION_NUMBER else "study-id"
            elem.value = self.keys.surrogate_id(kind, value)
        self.counts["pseudonym"] += 1

    def _replace_uids(self, ds: Dataset, tag: int) -> None:
        elem = ds[tag]
        if elem.VR != "UI" or elem.value is None:
            self.counts["K"] += 1
            return
        if isinstance(elem.value, MultiValue | list):
            elem.value = [self.map_uid(str(v)) for v in elem.value]
        else:
            elem.value = self.map_uid(str(elem.value))
        self.counts["U"] += 1

    def _clean(self, ds: Dataset, tag: int, vr: str) -> None:
        elem = ds[tag]
        if vr in ("DA", "DT"):
            if self.shift_days is None:
                del ds[tag]  # C on a date without a shift configured: nothing safe to keep
                self.counts["X"] += 1
                return
            values = [str(v) for v in elem.value] if elem.VM > 1 else [str(elem.value or "")]
            if values == [""]:
                return
            shifted = shift_multi(values, self.shift_days, vr)
            if shifted is None:
                del ds[tag]  # partial or malformed dates cannot be shifted safely
                self.counts["X"] += 1
                return
            elem.value = shifted if len(shifted) > 1 else shifted[0]
            self.counts["shift"] += 1
            return
        if vr in _TEXT_VRS and elem.value:
            if elem.VM > 1:
                elem.value = [self.needles.scrub(str(v)) for v in elem.value]
            else:
                elem.value = self.needles.scrub(str(elem.value))
        self.counts["C"] += 1

    def _private(self, ds: Dataset, tag: int) -> None:
        element = tag & 0xFFFF
        if element < 0x1000:
            return  # creators are kept or dropped with their blocks, after the pass
        if self.table.private == "C":
            group, block = tag >> 16, element >> 8
            creator = ds.get((group << 16) | block)
            if creator is not None and self.table.is_safe_private(
                group, str(creator.value), element & 0xFF
            ):
                self.counts["K"] += 1
                return
        del ds[tag]
        self.counts["X"] += 1

    def _drop_orphan_creators(self, ds: Dataset) -> None:
        used = {
            (tag >> 16, (tag & 0xFFFF) >> 8) for tag in list(ds.keys()) if tag & 0xFFFF >= 0x1000
        }
        for tag in list(ds.keys()):
            group, element = tag >> 16, tag & 0xFFFF
            if group & 1 and element < 0x1000 and (group, element) not in used:
                del ds[tag]
