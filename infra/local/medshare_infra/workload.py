"""A realistic load for the pipeline: what `medshare bench pipeline` and the fault tests send.

DICOM records are copies of real instances from pydicom's test files and
pydicom-data, each with fresh Study/Series/SOP Instance UIDs (so every copy is a
new record with its own id); case reports pair real breast-cancer measurements
with invented identities (`samples.sample_case_reports`). Records go in through
ingest's HTTP doors or, for a share of them, straight to `records.submitted` (the
Kafka door), and every submission is retried until ingest acknowledges it: the
acknowledgement is the moment the record is the pipeline's responsibility.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from medshare_infra.samples import sample_case_reports, sample_dicom_files
from medshare_shared.ids import record_id_for

INSTITUTION = "st-reliable"
# Templates larger than this are left out of the default mix: a handful of 7 MB
# instances would dominate a run's time without saying more about the pipeline.
MAX_TEMPLATE_BYTES = 1_000_000


@dataclass(frozen=True)
class Item:
    kind: str  # "dicom" | "case_report"
    content_type: str
    data: bytes
    institution: str = INSTITUTION

    @property
    def record_id(self) -> str:
        return record_id_for(self.institution, hashlib.sha256(self.data).hexdigest())


def dicom_templates(
    max_bytes: int = MAX_TEMPLATE_BYTES, keep: Callable[[bytes], bool] | None = None
) -> list[bytes]:
    """Real instances that pass `keep` (e.g. "ingest accepts and the anonymizer releases")."""
    templates = []
    for path in sample_dicom_files():
        if path.stat().st_size > max_bytes:
            continue
        data = path.read_bytes()
        if keep is None or keep(data):
            templates.append(data)
    return templates


def released_by_pipeline(data: bytes) -> bool:
    """Ingest accepts it and the anonymizer releases it (not quarantined, not rejected).

    Judged by the services' own code, run here in-process with a throwaway key, so a
    corpus of "records that should reach the catalog" follows their current rules.
    """
    from medshare_anonymizer.deidentify import Deidentifier
    from medshare_anonymizer.pseudonyms import PseudonymKeys
    from medshare_ingest.validation import InvalidSubmission, validate_dicom

    try:
        validate_dicom(data)
    except InvalidSubmission:
        return False
    deidentifier = Deidentifier(
        keys=PseudonymKeys(b"corpus-selection-key-0123456789"),
        dicom_options=frozenset({"retain-long-modified-dates"}),
    )
    try:
        outcome = deidentifier.run("dicom", "application/dicom", data, INSTITUTION)
    except Exception:  # the anonymizer's problem to report; not a corpus record
        return False
    return outcome.status == "ok"


def fresh_copy(template: bytes, rng: random.Random) -> bytes:
    """The same instance as a new one: new Study, Series and SOP Instance UIDs."""
    import pydicom
    from pydicom.uid import generate_uid

    dataset = pydicom.dcmread(io.BytesIO(template))
    # Reading converts elements lazily; a file that says explicit VR but is implicit
    # keeps raw elements without a VR, which cannot be written explicitly until read.
    for _ in dataset.iterall():
        pass
    entropy = [str(rng.getrandbits(64))]
    study, series, instance = (generate_uid(entropy_srcs=[*entropy, part]) for part in "abc")
    dataset.StudyInstanceUID = study
    dataset.SeriesInstanceUID = series
    dataset.SOPInstanceUID = instance
    if hasattr(dataset, "file_meta") and "MediaStorageSOPInstanceUID" in dataset.file_meta:
        dataset.file_meta.MediaStorageSOPInstanceUID = instance
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=False)
    return out.getvalue()


def build_corpus(
    count: int,
    dicom_share: float = 0.7,
    seed: int = 11,
    templates: Sequence[bytes] | None = None,
    institution: str = INSTITUTION,
) -> list[Item]:
    """`count` distinct records, `dicom_share` of them DICOM, shuffled deterministically."""
    rng = random.Random(seed)
    dicom_count = round(count * dicom_share)
    sources = (
        list(templates) if templates is not None else dicom_templates(keep=released_by_pipeline)
    )
    if dicom_count and not sources:
        raise RuntimeError("no DICOM templates to copy")
    items = [
        Item("dicom", "application/dicom", fresh_copy(template, rng), institution)
        for template in itertools.islice(itertools.cycle(sources), dicom_count)
    ]
    items += [
        Item("case_report", "application/json", json.dumps(report).encode(), institution)
        for report in sample_case_reports(count - dicom_count, seed=seed)
    ]
    rng.shuffle(items)
    return items


# -- sending ---------------------------------------------------------------------------


@dataclass
class Acks:
    """When each record was acknowledged (monotonic seconds), and how it went in."""

    acked_at: dict[str, float] = field(default_factory=dict)
    retries: int = 0
    doors: dict[str, int] = field(default_factory=lambda: {"http": 0, "kafka": 0})


async def _post(client: httpx.AsyncClient, url: str, item: Item, trace: str) -> str | None:
    path = "/instances" if item.kind == "dicom" else "/case-reports"
    try:
        answer = await client.post(
            url + path,
            content=item.data,
            headers={
                "Content-Type": item.content_type,
                "X-Institution": item.institution,
                "traceparent": trace,
            },
        )
    except httpx.HTTPError:
        return None  # ingest is away (killed, restarting): try again
    if answer.status_code in (200, 201, 202):
        record_id: str = answer.json()["record_id"]
        return record_id
    if answer.status_code >= 500 or answer.status_code == 429:
        return None
    raise RuntimeError(f"ingest refused a good record: {answer.status_code} {answer.text[:200]}")


async def send_http(
    items: Sequence[Item],
    ingest_urls: Sequence[str],
    acks: Acks,
    concurrency: int = 8,
    deadline_s: float = 600.0,
    rate: float = 0.0,
) -> None:
    """POST every item (round robin over replicas), retrying until each is acknowledged.

    `rate` > 0 paces the first attempts at that many records per second (an open
    load below capacity measures latency; flat out, latency is only queueing).
    """
    queue: asyncio.Queue[tuple[int, Item]] = asyncio.Queue()
    for index, item in enumerate(items):
        queue.put_nowait((index, item))
    urls = itertools.cycle(ingest_urls)
    begin = time.monotonic()
    give_up = begin + deadline_s

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            index, item = queue.get_nowait()
            if rate > 0:
                await asyncio.sleep(max(0.0, begin + index / rate - time.monotonic()))
            trace = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
            while True:
                record_id = await _post(client, next(urls), item, trace)
                if record_id is not None:
                    acks.acked_at[record_id] = time.monotonic()
                    acks.doors["http"] += 1
                    break
                if time.monotonic() > give_up:
                    raise TimeoutError("ingest did not acknowledge in time")
                acks.retries += 1
                await asyncio.sleep(0.5)

    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=2.0)) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))


async def send_kafka(
    items: Sequence[Item],
    bootstrap: str,
    topic: str,
    acks: Acks,
    deadline_s: float = 600.0,
    rate: float = 0.0,
) -> None:
    """Publish items to `records.submitted` in the raw form (bytes plus headers).

    A send that fails (the broker restarting) is sent again: a second copy of the same
    bytes is one record to ingest, so resending is safe. `rate` > 0 paces the first
    attempts as in `send_http`.
    """
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        max_request_size=80 * 1024 * 1024,
        request_timeout_ms=15_000,
    )
    begin = time.monotonic()
    give_up = begin + deadline_s
    await producer.start()
    try:
        for index, item in enumerate(items):
            if rate > 0:
                await asyncio.sleep(max(0.0, begin + index / rate - time.monotonic()))
            headers = [
                ("medshare-institution", item.institution.encode()),
                ("medshare-submission-id", item.record_id.encode()),
                ("content-type", item.content_type.encode()),
                ("traceparent", f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01".encode()),
            ]
            while True:
                try:
                    await producer.send_and_wait(
                        topic, item.data, key=item.record_id.encode(), headers=headers
                    )
                    break
                except KafkaError:
                    if time.monotonic() > give_up:
                        raise
                    acks.retries += 1
                    await asyncio.sleep(1.0)
            # Acknowledged by the broker: from here the record is the pipeline's.
            acks.acked_at[item.record_id] = time.monotonic()
            acks.doors["kafka"] += 1
    finally:
        await producer.stop()


def split_doors(
    items: Sequence[Item], kafka_share: float, seed: int = 5
) -> tuple[list[Item], list[Item]]:
    rng = random.Random(seed)
    http: list[Item] = []
    kafka: list[Item] = []
    for item in items:
        (kafka if rng.random() < kafka_share else http).append(item)
    return http, kafka


async def send_all(
    items: Sequence[Item],
    ingest_urls: Sequence[str],
    bootstrap: str,
    submitted_topic: str,
    kafka_share: float = 0.0,
    concurrency: int = 8,
    deadline_s: float = 600.0,
    acks: Acks | None = None,
    rate: float = 0.0,
) -> Acks:
    acks = acks if acks is not None else Acks()
    http, kafka = split_doors(items, kafka_share)
    jobs = [send_http(http, ingest_urls, acks, concurrency, deadline_s, rate * (1 - kafka_share))]
    if kafka:
        jobs.append(
            send_kafka(kafka, bootstrap, submitted_topic, acks, deadline_s, rate * kafka_share)
        )
    await asyncio.gather(*jobs)
    return acks


# -- watching the catalog ----------------------------------------------------------------


@dataclass
class CatalogProgress:
    cataloged_at: dict[str, float] = field(default_factory=dict)  # record id -> monotonic s
    inferred_at: dict[str, float] = field(default_factory=dict)


async def watch_catalog(
    mongo_url: str,
    database: str,
    expected: set[str],
    progress: CatalogProgress,
    timeout_s: float,
    acks: Acks,
    interval_s: float = 0.5,
    collection: str = "records",
    want_inference: set[str] | None = None,
    sweep_every: int = 10,
) -> CatalogProgress:
    """Poll MongoDB until every expected record is cataloged (and inferred, where wanted).

    Only acknowledged records not seen yet are asked for, by id in batches of 50 (an
    indexed `$in`; a collection scan each time would load the server being measured):
    every poll the 100 longest-waiting ones, every `sweep_every`-th poll all of them.
    So visibility is known to `interval_s` for records cataloged roughly in order, and
    to `interval_s * sweep_every` for the rest.
    """
    from pymongo import AsyncMongoClient

    want_inference = want_inference or set()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongo_url, serverSelectionTimeoutMS=3000
    )
    records = client[database][collection]
    deadline = time.monotonic() + timeout_s
    polls = 0
    try:
        while True:
            polls += 1
            pending = [
                record_id
                for record_id, _ in sorted(acks.acked_at.items(), key=lambda kv: kv[1])
                if record_id not in progress.cataloged_at
                or (record_id in want_inference and record_id not in progress.inferred_at)
            ]
            if polls % sweep_every:
                pending = pending[:100]
            try:
                for start in range(0, len(pending), 50):
                    chunk = pending[start : start + 50]
                    query = {"_id": {"$in": chunk}, "cataloged": True}
                    cursor = records.find(query, {"_id": 1, "models": 1})
                    async for document in cursor:
                        now = time.monotonic()
                        record_id = str(document["_id"])
                        progress.cataloged_at.setdefault(record_id, now)
                        if document.get("models"):
                            progress.inferred_at.setdefault(record_id, now)
            except Exception:
                pass
            done = expected <= progress.cataloged_at.keys()
            if done and want_inference <= progress.inferred_at.keys():
                return progress
            if time.monotonic() > deadline:
                return progress
            await asyncio.sleep(interval_s)
    finally:
        await client.close()
