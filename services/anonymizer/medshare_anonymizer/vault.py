"""Vault mode: random patient surrogates kept in a MongoDB collection.

For sites whose rules forbid codes derived from identifiers, `MEDSHARE_PSEUDONYM_MODE=vault`
replaces the keyed patient pseudonym by a random one ("P-" + 16 hex characters from
`secrets`), stored once per (institution, patient) and looked up ever after. UIDs,
accession surrogates and the date shift still come from the secret key; the shift is
keyed by the (random) pseudonym, so an image and a case report of one patient still
shift alike.

Get-or-create is atomic across threads, processes and replicas: one `_id` per patient
(unique by definition) and an upsert that only sets the surrogate on insert; the
document is then read back, so every concurrent caller returns the one stored value.
The vault holds no identifier in clear: the `_id` is a keyed digest of (institution,
patient ID), so the collection alone re-identifies nobody.

The de-identifier runs in worker threads (`asyncio.to_thread`), so this uses PyMongo's
synchronous client, which is thread-safe and pooled.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, MongoClient, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_anonymizer.settings import AnonymizerSettings
from medshare_shared.mongo import durable_writes

DEFAULT_COLLECTION = "pseudonym_vault"
_ATTEMPTS = 5


def new_surrogate() -> str:
    """A random pseudonym in the same shape as the keyed ones."""
    return "P-" + secrets.token_hex(8).upper()


class PseudonymVault:
    """Get-or-create of random patient surrogates in one collection."""

    def __init__(self, collection: Collection[dict[str, Any]], keys: PseudonymKeys) -> None:
        self.collection = collection
        self.keys = keys

    @classmethod
    def connect(
        cls,
        url: str,
        database: str,
        keys: PseudonymKeys,
        collection: str = DEFAULT_COLLECTION,
        w: str = "majority",
    ) -> PseudonymVault:
        # Journaled: a surrogate handed out must survive the server's kill -9.
        client: MongoClient[dict[str, Any]] = MongoClient(
            url, serverSelectionTimeoutMS=5_000, **durable_writes(w)
        )
        vault = cls(client[database][collection], keys)
        vault.ensure_indexes()
        return vault

    def ensure_indexes(self) -> None:
        # Two patients must never share a surrogate: a (vanishingly rare) random
        # collision fails the insert and is retried with a new value.
        self.collection.create_index([("pseudonym", ASCENDING)], unique=True, name="pseudonym")

    def lookup_key(self, institution: str, patient_key: str) -> str:
        return self.keys.surrogate_id("vault", f"{institution}\x00{patient_key.strip()}")

    def get_or_create(self, institution: str, patient_key: str) -> str:
        lookup = self.lookup_key(institution, patient_key)
        for _ in range(_ATTEMPTS):
            try:
                inserted = {"pseudonym": new_surrogate(), "created_at": datetime.now(UTC)}
                document = self.collection.find_one_and_update(
                    {"_id": lookup},
                    {"$setOnInsert": inserted},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # Another caller inserted this patient first (or the surrogate collided):
                # read back what is stored, else try again.
                document = self.collection.find_one({"_id": lookup})
            if document is not None and document.get("pseudonym"):
                return str(document["pseudonym"])
        raise RuntimeError("pseudonym vault: get-or-create did not converge")

    def count(self) -> int:
        return self.collection.count_documents({})


@dataclass(frozen=True)
class VaultPseudonymKeys(PseudonymKeys):
    """PseudonymKeys whose patient pseudonyms come from the vault."""

    vault: PseudonymVault | None = field(default=None, compare=False)
    _cache: dict[tuple[str, str], str] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def patient_pseudonym(self, institution: str, patient_id: str) -> str:
        if self.vault is None:
            raise RuntimeError("VaultPseudonymKeys needs a vault")
        key = (institution, patient_id.strip())
        cached = self._cache.get(key)
        if cached is not None:
            return cached  # a stored surrogate never changes
        pseudonym = self.vault.get_or_create(institution, patient_id)
        with self._lock:
            self._cache[key] = pseudonym
        return pseudonym


def pseudonym_keys(settings: AnonymizerSettings) -> PseudonymKeys:
    """The keys the de-identifier uses, as MEDSHARE_PSEUDONYM_MODE selects."""
    secret = settings.secret()
    if settings.pseudonym_mode == "hmac":
        return PseudonymKeys(secret)
    base = PseudonymKeys(secret)
    vault = PseudonymVault.connect(
        settings.mongo_url,
        settings.mongo_db,
        base,
        settings.pseudonym_vault_collection,
        settings.mongo_write_concern_w,
    )
    return VaultPseudonymKeys(secret, vault)
