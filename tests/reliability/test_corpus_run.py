"""One run over the real corpora, then three looks at everything it left behind.

The corpora: every DICOM file of pydicom's test set and pydicom-data, the DICOM files
of deid-data (its zip archives are left out), and sample case reports, sent through
ingest's HTTP door as they are; a few case reports also go through the Kafka door
with a traceparent of our own. Then:
- PHI leak scan: every shared-zone object, every document of every MongoDB
  collection, every topic but records.submitted, every service log and /metrics
  page is searched for the sources' PHI values (see tests/reliability/phi.py for
  which values are needles and why): zero findings;
- the Grafana dashboard shows only metrics some service really exports;
- one record's trace id (from the traceparent header it was submitted with) is in
  the logs of all four services, and every log line is JSON.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from medshare_infra.fleet import Fleet, running_fleet
from medshare_infra.samples import sample_case_reports, sample_dicom_files
from medshare_infra.services import fresh_env
from medshare_infra.stack import repo_root
from medshare_infra.workload import Acks, Item, send_kafka
from medshare_shared.ids import record_id_for
from tests.reliability.harness import catalog_ends, read_topic, store_for
from tests.reliability.phi import (
    Finding,
    Needles,
    as_text,
    case_report_needles,
    dicom_needles,
    read_dicom,
    retained_vocabulary,
    scan,
)

INSTITUTION = "st-corpus"
MAX_BYTES = 20 * 1024 * 1024
DASHBOARD = repo_root() / "infra/observability/grafana/dashboards/medshare-overview.json"


@dataclass
class Source:
    name: str
    kind: str
    data: bytes
    needles: Needles


@dataclass
class CorpusRun:
    env: dict[str, str]
    fleet: Fleet
    sources: list[Source]
    accepted: dict[str, Source] = field(default_factory=dict)  # record id -> source
    refused: dict[str, int] = field(default_factory=dict)  # source name -> HTTP status
    traced: dict[str, str] = field(default_factory=dict)  # record id -> trace id


def corpus_sources() -> list[Source]:
    import deid_data

    paths = sample_dicom_files()
    paths += sorted(Path(deid_data.__file__).parent.rglob("*.dcm"))
    paths = [path for path in paths if path.stat().st_size <= MAX_BYTES]
    blobs = {path.name + "@" + str(index): path.read_bytes() for index, path in enumerate(paths)}
    datasets = {name: read_dicom(data) for name, data in blobs.items()}
    vocabulary = retained_vocabulary(ds for ds in datasets.values() if ds is not None)
    sources = [
        Source(name, "dicom", data, dicom_needles(ds, vocabulary) if ds is not None else Needles())
        for (name, data), ds in zip(blobs.items(), datasets.values(), strict=True)
    ]
    for report in sample_case_reports(120, seed=5):
        data = json.dumps(report).encode()
        needles = case_report_needles(report)
        sources.append(Source(report["report_id"], "case_report", data, needles))
    return sources


async def submit(run: CorpusRun, sources: list[Source]) -> None:
    semaphore = asyncio.Semaphore(4)

    async def one(client: httpx.AsyncClient, source: Source) -> None:
        path, media = (
            ("/instances", "application/dicom")
            if source.kind == "dicom"
            else ("/case-reports", "application/json")
        )
        async with semaphore:
            for _ in range(20):
                answer = await client.post(
                    run.fleet.url("ingest") + path,
                    content=source.data,
                    headers={"Content-Type": media, "X-Institution": INSTITUTION},
                )
                if answer.status_code != 503:
                    break
                await asyncio.sleep(1)
        if answer.status_code in (200, 202):
            run.accepted[answer.json()["record_id"]] = source
        else:
            assert 400 <= answer.status_code < 500, (source.name, answer.status_code)
            run.refused[source.name] = answer.status_code

    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(one(client, source) for source in sources))


def accounted(run: CorpusRun) -> set[str]:
    """Records that reached an end: cataloged (or a copy of a cataloged instance),
    quarantined, or dead-lettered with a reason."""
    done = catalog_ends(run.env)
    prefix = run.env["MEDSHARE_TOPIC_PREFIX"]
    for record in asyncio.run(read_topic(run.env, f"{prefix}records.rejected")):
        payload = json.loads(record["value"])["payload"]
        if payload.get("record_id") and payload.get("reason"):
            done.add(payload["record_id"])
    return done


@pytest.fixture(scope="module")
def corpus_run(
    stack_env: dict[str, str], trained_models_bucket: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CorpusRun]:
    folder = tmp_path_factory.mktemp("corpus")
    env = fresh_env(
        stack_env,
        folder / "anonymizer.key",
        "c",
        {
            "MEDSHARE_MODELS_BUCKET": trained_models_bucket,
            "MEDSHARE_CATALOG_JWT_SECRET": secrets.token_hex(32),
            "MEDSHARE_CONSUMER_SESSION_TIMEOUT_MS": "6000",
            "MEDSHARE_LOG_LEVEL": "INFO",
        },
    )
    sources = corpus_sources()
    with running_fleet(env, folder / "logs") as fleet:
        run = CorpusRun(env, fleet, sources)
        asyncio.run(submit(run, sources))
        traced = [
            Item("case_report", "application/json", json.dumps(report).encode(), INSTITUTION)
            for report in sample_case_reports(3, seed=77)
        ]
        run.traced = asyncio.run(send_traced(env, traced))
        for item in traced:
            report = json.loads(item.data)
            run.accepted[item.record_id] = Source(
                report["report_id"], "case_report", item.data, case_report_needles(report)
            )
        deadline = time.monotonic() + 300
        while set(run.accepted) - accounted(run):
            assert time.monotonic() < deadline, "records never reached an end"
            time.sleep(1)
        time.sleep(6)  # one more lag reading, so the gauge is exported everywhere
        yield run


async def send_traced(env: dict[str, str], items: list[Item]) -> dict[str, str]:
    """Kafka-door submissions: record id -> the trace id of the traceparent it carried."""
    topic = env["MEDSHARE_TOPIC_PREFIX"] + "records.submitted"
    await send_kafka(items, env["MEDSHARE_KAFKA_BOOTSTRAP"], topic, Acks())
    return {
        record["headers"]["medshare-submission-id"].decode(): record["headers"]["traceparent"]
        .decode()
        .split("-")[1]
        for record in await read_topic(env, topic)
    }


def test_no_source_phi_anywhere_outside_the_raw_zone(corpus_run: CorpusRun) -> None:
    run, env = corpus_run, corpus_run.env
    assert len(run.accepted) > 150 and run.refused  # the corpora have both kinds
    # Refused sources count too: their reasons must not echo them either.
    distinctive = set().union(*(s.needles.distinctive for s in run.accepted.values()))
    distinctive |= set().union(*(s.needles.distinctive for s in run.sources))
    assert len(distinctive) > 300, "too few needles: the scan would prove little"
    findings: list[Finding] = []

    with MongoClient(env["MEDSHARE_MONGO_URL"]) as client:
        database = client[env["MEDSHARE_MONGO_DB"]]
        collections = database.list_collection_names()
        records = {str(d["_id"]): d for d in database["records"].find({})}
        for name in collections:
            for document in database[name].find({}):
                text, where = as_text(document), f"mongo {name}/{document['_id']}"
                findings += scan(where, text, distinctive)
                own = run.accepted.get(str(document["_id"]))
                if name == "records" and own is not None:
                    findings += scan(where, text, own.needles.per_record)
    assert "records" in collections

    store = store_for(env)
    owner = {d["object"]["key"]: rid for rid, d in records.items() if d.get("object")}
    objects = list(store.client.list_objects(env["MEDSHARE_SHARED_BUCKET"], recursive=True))
    for obj in objects:
        data = store.get_sync(env["MEDSHARE_SHARED_BUCKET"], obj.object_name)
        findings += scan(f"s3 {obj.object_name}", data, distinctive)
        source = run.accepted.get(owner.get(obj.object_name, ""))
        if source is not None:
            findings += scan(f"s3 {obj.object_name}", data, source.needles.per_record)
    assert len(objects) > 50

    prefix = env["MEDSHARE_TOPIC_PREFIX"]
    for topic in ("ingested", "deidentified", "inferred", "quarantined", "rejected"):
        for record in asyncio.run(read_topic(env, f"{prefix}records.{topic}")):
            text = (record["value"] or b"") + repr(record["headers"]).encode()
            findings += scan(f"topic {topic}@{record['offset']}", text, distinctive)

    for process in run.fleet.all():
        findings += scan(f"log {process.name}", process.log_path.read_bytes(), distinctive)
    for replica, text in run.fleet.metrics_text().items():
        findings += scan(f"metrics {replica}", text, distinctive)

    assert not findings, f"{len(findings)} PHI findings, e.g. {findings[:10]}"


def test_the_same_scan_finds_the_phi_in_the_raw_zone(corpus_run: CorpusRun) -> None:
    """The control: needles and scanner do find PHI where it legitimately is."""
    run, env = corpus_run, corpus_run.env
    store = store_for(env)
    checked = 0
    for record_id, source in run.accepted.items():
        needles = source.needles.distinctive | source.needles.per_record
        if not needles or len(source.data) > 2_000_000:
            continue
        raw = store.get_sync(env["MEDSHARE_RAW_BUCKET"], f"records/{INSTITUTION}/{record_id}")
        assert scan(f"raw {record_id}", raw, needles), f"no needle of {source.name} in its original"
        checked += 1
    assert checked > 100


def dashboard_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    names = set(re.findall(r"\b(medshare_[a-z_]+)", " ".join(expressions)))
    # A histogram is queried through its series; the service exports all three.
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in names}


def test_every_dashboard_metric_is_exported_by_some_service(corpus_run: CorpusRun) -> None:
    exported = "\n".join(corpus_run.fleet.metrics_text().values())
    wanted = dashboard_metrics()
    # `up` in the dashboard is Prometheus's own series about its scrapes, not ours.
    assert len(wanted) >= 9
    missing = [
        name
        for name in sorted(wanted)
        if not re.search(rf"^{name}(_total|_bucket|_sum|_count)?\{{", exported, re.MULTILINE)
    ]
    assert not missing, f"the dashboard charts metrics no service exports: {missing}"


def test_one_trace_id_joins_the_logs_of_all_four_services(corpus_run: CorpusRun) -> None:
    run = corpus_run
    record_id, trace_id = next(iter(run.traced.items()))
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    for process in run.fleet.all():
        lines = [json.loads(line) for line in process.log_path.read_text().splitlines()]
        assert all("msg" in line and "service" in line for line in lines)
        traced = [line for line in lines if line.get("trace_id") == trace_id]
        assert traced, f"{process.name} logged nothing under trace {trace_id} ({record_id})"


def test_every_record_id_ingest_answers_is_the_contract_s(corpus_run: CorpusRun) -> None:
    for record_id, source in list(corpus_run.accepted.items())[:20]:
        sha = hashlib.sha256(source.data).hexdigest()
        assert record_id_for(INSTITUTION, sha) == record_id
