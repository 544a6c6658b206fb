"""Keyed, stateless pseudonyms shared by the DICOM and case-report de-identifiers.

Every value derives from HMAC-SHA256 under one secret, so the same input gives the
same pseudonym on every replica and after restarts, without a lookup table. Each kind
of value uses its own domain label so that, e.g., a patient pseudonym can never equal
a UID or an accession surrogate derived from the same text.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

# 2.25.<integer> is the UUID-derived UID root (PS3.5 B.2); 128 bits keeps it unique
# enough and the UID far below the 64-character limit (at most 44 characters).
_UID_ROOT = "2.25."
_UID_BITS = 128
_MAX_SHIFT_DAYS = 365


@dataclass(frozen=True)
class PseudonymKeys:
    """Derives pseudonyms, UIDs and date shifts from one secret key."""

    secret: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes | bytearray) or not self.secret:
            raise ValueError("PseudonymKeys.secret must be non-empty bytes")

    def _digest(self, domain: str, *parts: str) -> bytes:
        # NUL separators keep ("ab", "c") and ("a", "bc") apart.
        message = "\x00".join((domain, *parts)).encode("utf-8")
        return hmac.new(bytes(self.secret), message, hashlib.sha256).digest()

    def patient_pseudonym(self, institution: str, patient_id: str) -> str:
        """Stable patient pseudonym, "P-" + 16 hex characters, per (institution, ID)."""
        return "P-" + self._digest("patient", institution, patient_id).hex()[:16].upper()

    def date_shift_days(self, pseudonym: str) -> int:
        """Per-patient date shift in days, in -365..-1 (never 0, always into the past)."""
        value = int.from_bytes(self._digest("date-shift", pseudonym)[:8], "big")
        return -(1 + value % _MAX_SHIFT_DAYS)

    def uid(self, source_uid: str) -> str:
        """Replacement UID: "2.25." + a 128-bit integer from the keyed digest."""
        digest = self._digest("uid", source_uid.strip().rstrip("\x00"))
        return _UID_ROOT + str(int.from_bytes(digest[: _UID_BITS // 8], "big"))

    def surrogate_id(self, kind: str, value: str) -> str:
        """Generic ID surrogate (accession numbers, study IDs...), 16 uppercase hex.

        16 characters fit every ID-like VR, including SH (maximum 16).
        """
        return self._digest("id", kind, value.strip()).hex()[:16].upper()
