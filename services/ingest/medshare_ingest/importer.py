"""Bulk import: walk folders and send every DICOM file, case report and FHIR Bundle.

Sends run concurrently with a bound. Each accepted (or duplicate) file's SHA-256 is
appended to a journal, so an interrupted import resumes without resending what
was already accepted. Refusals are counted with their reasons, never fatal.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from medshare_shared.events import RecordSubmitted, envelope

Via = Literal["http", "kafka"]
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class ImportItem:
    path: Path
    kind: Literal["dicom", "case_report"]
    content_type: str


@dataclass
class ImportSummary:
    accepted: int = 0
    duplicate: int = 0
    skipped: int = 0
    refused: int = 0
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def classify(path: Path) -> ImportItem | None:
    """What a file is, from its content (not its name); None for anything else."""
    with path.open("rb") as handle:
        head = handle.read(132)
    if len(head) == 132 and head[128:132] == b"DICM":
        return ImportItem(path, "dicom", "application/dicom")
    if head.lstrip()[:1] == b"{":
        try:
            document = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError):
            return ImportItem(path, "case_report", "application/json")  # refused with a reason
        if isinstance(document, dict) and document.get("resourceType") == "Bundle":
            return ImportItem(path, "case_report", FHIR_JSON)
        return ImportItem(path, "case_report", "application/json")
    return None


def walk(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path


class Journal:
    """Hashes of files already accepted, one per line, appended as they are."""

    def __init__(self, path: Path):
        self.path = path
        self.done: set[str] = set()
        if path.exists():
            self.done = {line.strip() for line in path.read_text().splitlines() if line.strip()}

    def record(self, digest: str) -> None:
        with self.path.open("a") as handle:
            handle.write(digest + "\n")
        self.done.add(digest)


class HttpSender:
    def __init__(self, base_url: str, institution: str, api_key: str | None):
        headers = {"X-Institution": institution}
        if api_key:
            headers["X-API-Key"] = api_key
        self.client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60)

    async def send(self, item: ImportItem, data: bytes) -> tuple[str, str | None]:
        path = "/instances" if item.kind == "dicom" else "/case-reports"
        answer = await self.client.post(
            path, content=data, headers={"Content-Type": item.content_type}
        )
        if answer.status_code == 202:
            return "accepted", None
        if answer.status_code == 200:
            return "duplicate", None
        try:
            reason = str(answer.json().get("error") or answer.json().get("detail"))
        except ValueError:
            reason = answer.text[:200]
        return ("failed" if answer.status_code >= 500 else "refused"), reason

    async def close(self) -> None:
        await self.client.aclose()


class KafkaSender:
    """Publishes to records.submitted; ingest validates later and rejects to records.rejected."""

    def __init__(self, bootstrap: str, topic: str, institution: str):
        from aiokafka import AIOKafkaProducer

        self.topic = topic
        self.institution = institution
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, enable_idempotence=True, max_request_size=64 * 1024 * 1024
        )
        self.started = False

    async def send(self, item: ImportItem, data: bytes) -> tuple[str, str | None]:
        if not self.started:
            await self.producer.start()
            self.started = True
        digest = hashlib.sha256(data).hexdigest()
        event = envelope(
            RecordSubmitted(
                institution=self.institution,
                submission_id=digest,
                kind=item.kind,
                content_type=item.content_type,
                data_base64=base64.b64encode(data).decode(),
            ),
            event_type="records.submitted",
            producer="medshare-import",
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{self.institution}/{digest}"),
        )
        await self.producer.send_and_wait(
            self.topic, event.model_dump_json().encode(), key=digest.encode()
        )
        return "accepted", None

    async def close(self) -> None:
        if self.started:
            await self.producer.stop()


async def run_import(
    items: list[ImportItem],
    sender: HttpSender | KafkaSender,
    journal: Journal,
    concurrency: int,
    on_done: Callable[[str, ImportSummary], None],
) -> ImportSummary:
    summary = ImportSummary()
    limit = asyncio.Semaphore(concurrency)

    async def one(item: ImportItem) -> None:
        async with limit:
            data = await asyncio.to_thread(item.path.read_bytes)
            digest = hashlib.sha256(data).hexdigest()
            if digest in journal.done:
                summary.skipped += 1
                on_done("skipped", summary)
                return
            try:
                outcome, reason = await sender.send(item, data)
            except (httpx.HTTPError, OSError) as error:
                outcome, reason = "failed", type(error).__name__
            if outcome in {"accepted", "duplicate"}:
                journal.record(digest)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
            if reason:
                summary.reasons[reason] += 1
            on_done(outcome, summary)

    try:
        await asyncio.gather(*(one(item) for item in items))
    finally:
        await sender.close()
    return summary
