"""Bulk import: walk folders and send every DICOM file, case report and FHIR Bundle.

A fixed number of workers send concurrently. Each accepted (or duplicate) file is
appended to a journal as "institution sha256", so an interrupted import resumes
without resending what was already accepted. A 503 (ingest cannot store right now)
is retried after its Retry-After; refusals are counted with their reasons, never fatal.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import httpx

from medshare_shared.json_bounds import loads_bounded

Via = Literal["http", "kafka"]
Outcome = Literal["accepted", "duplicate", "refused", "failed"]
FHIR_JSON = "application/fhir+json"
MAX_ATTEMPTS = 5
MAX_RETRY_WAIT_S = 30.0


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

    def as_dict(self) -> dict[str, object]:
        counts = {name: getattr(self, name) for name in OUTCOMES}
        return {**counts, "reasons": dict(self.reasons.most_common())}


OUTCOMES = ("accepted", "duplicate", "skipped", "refused", "failed")


def classify(path: Path) -> ImportItem | None:
    """What a file is, from its content (not its name); None for anything else."""
    with path.open("rb") as handle:
        head = handle.read(132)
    if len(head) == 132 and head[128:132] == b"DICM":
        return ImportItem(path, "dicom", "application/dicom")
    if head.lstrip()[:1] == b"{":
        try:
            document = loads_bounded(path.read_bytes())
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
    """Files already accepted, one "institution sha256" line each, appended as they are."""

    def __init__(self, path: Path, institution: str):
        self.path = path
        self.institution = institution
        self.done: set[str] = set()
        if path.exists():
            for line in path.read_text().splitlines():
                owner, _, digest = line.strip().partition(" ")
                if owner == institution and digest:
                    self.done.add(digest)

    def record(self, digest: str) -> None:
        # Appended and closed at once: a killed import loses at most the lines in flight.
        with self.path.open("a") as handle:
            handle.write(f"{self.institution} {digest}\n")
        self.done.add(digest)


class Sender(Protocol):
    async def send(self, item: ImportItem, data: bytes) -> tuple[Outcome, str | None]: ...

    async def close(self) -> None: ...


class HttpSender:
    def __init__(self, base_url: str, institution: str, api_key: str | None):
        headers = {"X-Institution": institution}
        if api_key:
            headers["X-API-Key"] = api_key
        self.client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120)

    async def send(self, item: ImportItem, data: bytes) -> tuple[Outcome, str | None]:
        path = "/instances" if item.kind == "dicom" else "/case-reports"
        digest = hashlib.sha256(data).hexdigest()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            answer = await self.client.post(
                path,
                content=data,
                headers={"Content-Type": item.content_type, "X-Submission-Id": digest},
            )
            if answer.status_code == 202:
                return "accepted", None
            if answer.status_code == 200:
                return "duplicate", None
            if answer.status_code != 503 or attempt == MAX_ATTEMPTS:
                break
            await asyncio.sleep(_retry_after(answer, attempt))
        reason = _reason(answer)
        return ("failed" if answer.status_code >= 500 else "refused"), reason

    async def close(self) -> None:
        await self.client.aclose()


def _retry_after(answer: httpx.Response, attempt: int) -> float:
    header = answer.headers.get("retry-after", "")
    wait = float(header) if header.isdigit() else 2.0**attempt
    return min(wait, MAX_RETRY_WAIT_S)


def _reason(answer: httpx.Response) -> str:
    try:
        document = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    if isinstance(document, dict):
        return str(document.get("error") or document.get("detail") or answer.status_code)
    return f"HTTP {answer.status_code}"


class KafkaSender:
    """Publishes to records.submitted (raw form: the bytes, with the institution and the
    submission id in headers). "accepted" means the broker has it: ingest validates later
    and sends refusals to records.rejected."""

    def __init__(self, bootstrap: str, topic: str, institution: str):
        from aiokafka import AIOKafkaProducer

        self.topic = topic
        self.institution = institution
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, enable_idempotence=True, max_request_size=64 * 1024 * 1024
        )
        self.started = False

    async def send(self, item: ImportItem, data: bytes) -> tuple[Outcome, str | None]:
        if not self.started:
            await self.producer.start()
            self.started = True
        digest = hashlib.sha256(data).hexdigest()
        await self.producer.send_and_wait(
            self.topic,
            data,
            key=digest.encode(),
            headers=[
                ("medshare-institution", self.institution.encode()),
                ("medshare-submission-id", digest.encode()),
                ("content-type", item.content_type.encode()),
            ],
        )
        return "accepted", None

    async def close(self) -> None:
        if self.started:
            await self.producer.stop()


async def run_import(
    items: list[ImportItem],
    sender: Sender,
    journal: Journal,
    concurrency: int,
    on_done: Callable[[str, ImportSummary], None],
) -> ImportSummary:
    summary = ImportSummary()
    queue = iter(items)

    async def worker() -> None:
        for item in queue:  # workers share one iterator: each item is taken once
            data = await asyncio.to_thread(item.path.read_bytes)
            digest = hashlib.sha256(data).hexdigest()
            if digest in journal.done:
                summary.skipped += 1
                on_done("skipped", summary)
                continue
            outcome: Outcome
            try:
                outcome, reason = await sender.send(item, data)
            except Exception as error:  # the server or broker unreachable: counted, not fatal
                outcome, reason = "failed", type(error).__name__
            if outcome in {"accepted", "duplicate"}:
                journal.record(digest)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
            if reason:
                summary.reasons[reason] += 1
            on_done(outcome, summary)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await sender.close()
    return summary
