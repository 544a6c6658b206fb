"""UID replacement (the U action, and D on a UI attribute).

Each source UID is replaced by one derived from it under the institution's key
(``PseudonymKeys.uid``), so a study's UIDs map the same way in every instance and
references between instances survive. UIDs under the standard's own root (SOP
classes, transfer syntaxes, coding schemes) name kinds of things and are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medshare_anonymizer.pseudonyms import PseudonymKeys

WELL_KNOWN_UID_ROOT = "1.2.840.10008."


@dataclass
class UidMap:
    """The replacement UIDs of one instance; each source UID is derived once."""

    keys: PseudonymKeys
    _mapped: dict[str, str] = field(default_factory=dict)

    def replace(self, uid: str) -> str:
        uid = uid.strip().rstrip("\x00")
        if not uid or uid.startswith(WELL_KNOWN_UID_ROOT):
            return uid
        mapped = self._mapped.get(uid)
        if mapped is None:
            mapped = self._mapped[uid] = self.keys.uid(uid)
        return mapped

    def replace_value(self, raw: bytes) -> bytes:
        """A UI value (UIDs separated by backslashes) with each UID replaced."""
        values = raw.decode("ascii", "replace").split("\\")
        return "\\".join(self.replace(value) for value in values).encode("ascii", "replace")
