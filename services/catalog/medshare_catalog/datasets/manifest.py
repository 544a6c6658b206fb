"""A frozen dataset's manifest: every record id with the SHA-256 of its object.

A SHA-256 over the whole manifest (`manifest_digest`) lets a study cite and
verify exactly which records and bytes it used. Manifests stream as JSON or CSV.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator, Sequence

from medshare_catalog.store.record import Document

MANIFEST_COLUMNS = ("record_id", "kind", "institution", "sha256", "size", "content_type", "key")


def manifest_entry(document: Document) -> Document:
    stored: Document = document.get("object") or {}
    return {
        "record_id": document["_id"],
        "kind": document.get("kind"),
        "institution": document.get("institution"),
        "sha256": stored.get("sha256"),
        "size": stored.get("size"),
        "content_type": stored.get("content_type"),
        "key": stored.get("key"),
    }


def manifest_digest(entries: Sequence[Document]) -> str:
    """SHA-256 over `record_id sha256` lines in record-id order: the dataset's fingerprint."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e["record_id"]):
        digest.update(f"{entry['record_id']} {entry['sha256']}\n".encode())
    return digest.hexdigest()


def public_dataset(document: Document) -> Document:
    view = {k: v for k, v in document.items() if k != "_id"}
    view["dataset_id"] = document["_id"]
    return view


def manifest_header(dataset: Document) -> Document:
    return {
        "dataset_id": dataset["_id"],
        "name": dataset["name"],
        "project": dataset["project"],
        "query": dataset["query"],
        "frozen_at": dataset.get("frozen_at"),
        "frozen_by": dataset.get("frozen_by"),
        "k": (dataset.get("risk") or {}).get("k"),
        "l": (dataset.get("risk") or {}).get("l"),
        "manifest_sha256": (dataset.get("manifest") or {}).get("sha256"),
        "record_count": (dataset.get("manifest") or {}).get("records"),
    }


async def manifest_json(
    dataset: Document, entries: AsyncIterator[Document]
) -> AsyncIterator[bytes]:
    """The manifest as one JSON document, streamed record by record."""
    header = json.dumps(manifest_header(dataset), default=str)
    yield (header[:-1] + ', "records": [').encode()
    first = True
    async for entry in entries:
        yield (("" if first else ",") + "\n  " + json.dumps(entry)).encode()
        first = False
    yield b"\n]}\n"


async def manifest_csv(entries: AsyncIterator[Document]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    async for entry in entries:
        writer.writerow([entry.get(column, "") for column in MANIFEST_COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
