"""Folding real events from real Kafka topics: order, replay, staleness and release gates.

The catalog runs in this process with its real consumers; events are published to
a fresh topic prefix the way the anonymizer and inference services publish them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from faststream.kafka import KafkaBroker

from medshare_catalog.settings import CatalogSettings
from medshare_shared.events import (
    DeidReport,
    EventEnvelope,
    ModelResult,
    Payload,
    RecordDeidentified,
    RecordInferred,
    RecordQuarantined,
    deterministic_id,
)
from medshare_shared.kafka import make_broker, publish_event
from medshare_shared.lag import group_lag
from tests.integration.catalog.support import (
    Catalog,
    catalog_env,
    detector,
    image_bytes,
    running_catalog,
)

T = TypeVar("T")
DEADLINE_S = 45


async def eventually(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def event(payload: Payload, kind: str, at: datetime, *parts: str) -> EventEnvelope[Any]:
    typed: Any = EventEnvelope[type(payload)]  # type: ignore[misc]
    return typed(
        event_id=deterministic_id(kind, *parts),
        event_type=kind,
        occurred_at=at,
        trace_id=uuid.uuid4().hex,
        producer="test",
        payload=payload,
    )


async def publish(broker: KafkaBroker, topic: str, envelopes: list[EventEnvelope[Any]]) -> None:
    for envelope in envelopes:
        await publish_event(broker, topic, envelope, key=envelope.payload.record_id, service="test")


async def drained(settings: CatalogSettings, group: str) -> None:
    topics = settings.topics
    names = [topics.deidentified, topics.inferred, topics.quarantined]

    async def no_lag() -> bool:
        lag = await group_lag(settings.kafka_bootstrap, group, names)
        return sum(lag.values()) == 0

    await eventually(no_lag, f"consumer group {group} to catch up")


async def snapshot(catalog: Catalog) -> list[dict[str, Any]]:
    found = catalog.records.collection.find({}).sort("_id", 1)
    return [doc async for doc in found]


async def facet_buckets(catalog: Catalog) -> list[dict[str, Any]]:
    """The facet read model's buckets (store/facets.py), without zero counts."""
    found = catalog.records.facets.collection.find({"records": {"$exists": True}}).sort("_id", 1)
    return [
        {
            **bucket,
            "counts": {
                field: {value: n for value, n in values.items() if n}
                for field, values in bucket["counts"].items()
            },
        }
        async for bucket in found
        if bucket["records"]
    ]


class Scenario:
    """An image with a detector verdict, a case report whose result comes first, a quarantine."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        # A minute ago: the events are in the past when a steward reviews.
        self.start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    async def build(self) -> dict[str, list[EventEnvelope[Any]]]:
        catalog, start = self.catalog, self.start
        data, meta = image_bytes("CT_small.dcm", study_date="20200505")
        self.image_id = hashlib.sha256(data).hexdigest()
        key = f"north/dicom/{self.image_id}.dcm"
        sha = await catalog.put_object(data, key, "application/dicom")
        image = self.deidentified(self.image_id, "dicom", key, sha, len(data), meta)
        report_json = json.dumps({"report": uuid.uuid4().hex}).encode()
        self.report_id = hashlib.sha256(report_json).hexdigest()
        report_key = f"north/case_report/{self.report_id}.json"
        report_sha = await catalog.put_object(report_json, report_key, "application/json")
        report_meta = {
            "sex": "F",
            "age_band": "50-59",
            "zip3": "021",
            "encounter_year": 2022,
            "diagnosis_codes": ["C50.9"],
            "description": "Case report 2022 | C50.9",
        }
        report = self.deidentified(
            self.report_id, "case_report", report_key, report_sha, len(report_json), report_meta
        )
        malignancy = ModelResult(
            model_name="breast-cancer-malignancy",
            model_version="1.0.0",
            outputs={"malignancy_probability": 0.87},
        )
        self.quarantined_id = hashlib.sha256(b"quarantined" + uuid.uuid4().bytes).hexdigest()
        return {
            "inferred": [
                # The report's result is published before the report itself.
                event(
                    RecordInferred(
                        record_id=self.report_id, patient_pseudonym="p2", result=malignancy
                    ),
                    "records.inferred",
                    start,
                    self.report_id,
                    "m",
                ),
                event(
                    RecordInferred(
                        record_id=self.image_id, patient_pseudonym="p1", result=detector(True)
                    ),
                    "records.inferred",
                    start + timedelta(seconds=5),
                    self.image_id,
                    "d",
                ),
            ],
            "deidentified": [
                event(image, "records.deidentified", start + timedelta(seconds=1), self.image_id),
                event(report, "records.deidentified", start + timedelta(seconds=2), self.report_id),
            ],
            "quarantined": [
                event(
                    RecordQuarantined(
                        record_id=self.quarantined_id,
                        institution="north",
                        kind="dicom",
                        stage="anonymizer",
                        reason="verifier found PHI",
                    ),
                    "records.quarantined",
                    start,
                    self.quarantined_id,
                ),
            ],
        }

    def deidentified(
        self, record_id: str, kind: str, key: str, sha: str, size: int, meta: dict[str, Any]
    ) -> RecordDeidentified:
        return RecordDeidentified(
            record_id=record_id,
            institution="north",
            kind=kind,  # type: ignore[arg-type]
            patient_pseudonym="p-" + record_id[:8],
            shared_bucket=self.catalog.bucket,
            shared_key=key,
            sha256=sha,
            size=size,
            content_type="application/dicom" if kind == "dicom" else "application/json",
            ingested_at=self.start - timedelta(minutes=1),
            metadata=meta,
            report=DeidReport(profile="basic", options=["retain-long-modified-dates"]),
        )


async def publish_all(
    settings: CatalogSettings, events: dict[str, list[EventEnvelope[Any]]]
) -> None:
    broker = make_broker(settings, client_id="medshare-test-producer")
    await broker.start()
    try:
        topics = settings.topics
        await publish(broker, topics.inferred, events["inferred"])
        await publish(broker, topics.deidentified, events["deidentified"])
        await publish(broker, topics.quarantined, events["quarantined"])
    finally:
        await broker.stop()


async def test_events_fold_in_any_order_and_replay_changes_nothing(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    async with running_catalog(env) as catalog:
        scenario = Scenario(catalog)
        events = await scenario.build()
        await publish_all(catalog.settings, events)

        async def folded() -> list[dict[str, Any]] | None:
            documents = await snapshot(catalog)
            ready = [
                d
                for d in documents
                if d.get("release", {}).get("state") in {"released", "withheld"}
            ]
            return documents if len(ready) == 3 and all("results" in d for d in documents) else None

        documents = {doc["_id"]: doc for doc in await eventually(folded, "three folded records")}
        image = documents[scenario.image_id]
        assert image["release"]["state"] == "withheld"
        assert image["release"]["reason"].startswith(
            "burned-in text flagged by burned-in-text 1.0.0"
        )
        assert image["dicom"]["study_date"] == "20200505"  # read from the shared-zone header
        report = documents[scenario.report_id]
        assert report["cataloged"] and report["release"]["state"] == "released"
        assert report["results"][0]["outputs"]["malignancy_probability"] == 0.87
        assert (
            documents[scenario.quarantined_id]["release"]["reason"]
            == "quarantined: verifier found PHI"
        )
        await drained(catalog.settings, catalog.settings.consumer_group)
        before = await snapshot(catalog)
        buckets = await facet_buckets(catalog)
        assert sum(b["records"] for b in buckets) == 2  # the two listed records, counted once

        # Redelivery: every event once more on the same topics.
        await publish_all(catalog.settings, events)
        await drained(catalog.settings, catalog.settings.consumer_group)
        assert await snapshot(catalog) == before
        assert await facet_buckets(catalog) == buckets

        # Replay from the start: a second deployment reads every topic from offset 0
        # into the same database.
        replay_env = {**env, "MEDSHARE_CONSUMER_GROUP": f"replay-{uuid.uuid4().hex[:6]}"}
        async with running_catalog(replay_env, drop=False) as replay:
            await drained(replay.settings, replay.settings.consumer_group)
        assert await snapshot(catalog) == before
        assert await facet_buckets(catalog) == buckets


async def test_older_events_never_overwrite_newer_facts(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    async with running_catalog(env) as catalog:
        scenario = Scenario(catalog)
        events = await scenario.build()
        report_event = events["deidentified"][1]
        payload = report_event.payload
        newer = event(
            payload.model_copy(update={"metadata": {**payload.metadata, "age_band": "60-69"}}),
            "records.deidentified",
            report_event.occurred_at + timedelta(hours=1),
            scenario.report_id,
            "v2",
        )
        broker = make_broker(catalog.settings, client_id="medshare-test-producer")
        await broker.start()
        try:
            topic = catalog.settings.topics.deidentified
            await publish(broker, topic, [newer])

            async def has_newer() -> bool:
                found = await catalog.records.get(scenario.report_id)
                return bool(found and found.get("age_band") == "60-69")

            await eventually(has_newer, "the newer fact")
            await publish(broker, topic, [report_event])  # older, published later
            await drained(catalog.settings, catalog.settings.consumer_group)
        finally:
            await broker.stop()
        document = await catalog.records.get(scenario.report_id)
        assert document is not None and document["age_band"] == "60-69"
        assert document["deid"]["event_id"] == str(newer.event_id)


async def test_flagged_image_waits_for_a_steward_and_the_reason_stays(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    async with running_catalog(env) as catalog:
        await catalog.directory.create_project("onco")
        await catalog.directory.add_member("onco", "alice")
        await catalog.directory.grant("north", "onco")
        scenario = Scenario(catalog)
        events = await scenario.build()
        await publish_all(catalog.settings, events)
        researcher = catalog.auth("alice", "researcher")

        async def withheld() -> bool:
            found = await catalog.records.get(scenario.image_id)
            return bool(found and found.get("release", {}).get("state") == "withheld")

        await eventually(withheld, "the flagged image to be withheld")
        assert (
            await catalog.http.get(f"/records/{scenario.image_id}", headers=researcher)
        ).status_code == 404
        queue = (
            await catalog.http.get("/review/queue", headers=catalog.auth("sam", "steward"))
        ).json()
        assert scenario.image_id in {item["record_id"] for item in queue["items"]}

        answer = await catalog.http.post(
            f"/records/{scenario.image_id}/review",
            json={"decision": "release", "reason": "text is a scanner label, no PHI"},
            headers=catalog.auth("sam", "steward"),
        )
        assert answer.status_code == 200, answer.text
        record = (
            await catalog.http.get(f"/records/{scenario.image_id}", headers=researcher)
        ).json()
        assert record["release"]["state"] == "released"
        reviewed = [step for step in record["lineage"] if step["step"] == "reviewed"]
        assert reviewed == [
            {
                **reviewed[0],
                "decision": "release",
                "by": "sam",
                "reason": "text is a scanner label, no PHI",
            }
        ]
        steps = [step["step"] for step in record["lineage"]]
        assert steps == ["ingested", "de-identified", "model", "reviewed"]

        # A newer detector version flags it again: withheld again, whatever the review said.
        broker = make_broker(catalog.settings, client_id="medshare-test-producer")
        await broker.start()
        try:
            again = event(
                RecordInferred(
                    record_id=scenario.image_id,
                    patient_pseudonym="p1",
                    result=detector(True, version="2.0.0"),
                ),
                "records.inferred",
                datetime.now(UTC) + timedelta(seconds=1),
                scenario.image_id,
                "v2",
            )
            await publish(broker, catalog.settings.topics.inferred, [again])
        finally:
            await broker.stop()
        await eventually(withheld, "the image withheld by the newer verdict")
        assert (
            await catalog.http.get(f"/records/{scenario.image_id}", headers=researcher)
        ).status_code == 404
