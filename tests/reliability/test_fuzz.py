"""Fuzz the doors: thousands of mutated DICOM files and case reports, over HTTP and Kafka.

Hypothesis derives the mutants from real records (tests/reliability/fuzzing.py);
duplicates are dropped, so every count below is of distinct inputs. Every 50th
input is a good record. Afterwards:
- no service crashed (every process alive, /readyz 200) or stalled (every consumer
  group has committed its topics to the end, no request took over 30 s);
- each bad input got its reason: an HTTP 4xx with a JSON `error` (naming no value
  from the input), or a `records.rejected` event pointing at its offset;
- each mutant that a door accepted reached an end too (catalog, quarantine or a
  dead letter with a reason), and every good record is in the catalog.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from medshare_infra.fleet import Fleet, running_fleet
from medshare_infra.samples import sample_case_reports
from medshare_infra.workload import Item, fresh_copy
from medshare_shared.lag import group_lag
from tests.reliability.fuzzing import Base, Mutant, mutants
from tests.reliability.harness import catalog_ends, read_topic
from tests.reliability.phi import case_report_needles, dicom_needles, read_dicom, scan

HTTP_MUTANTS = 3000
KAFKA_MUTANTS = 2200
GOOD_EVERY = 50
HTTP_INSTITUTION, KAFKA_INSTITUTION = "st-fuzz-http", "st-fuzz-kafka"


def bases(templates: list[bytes]) -> list[Base]:
    small = [t for t in templates if len(t) <= 60_000][:12]
    found = []
    for data in small:
        dataset = read_dicom(data)
        needles = dicom_needles(dataset, set()) if dataset is not None else None
        found.append(Base("dicom", data, tuple(needles.distinctive) if needles else ()))
    for report in sample_case_reports(12, seed=3):
        needles = case_report_needles(report)
        found.append(Base("case_report", json.dumps(report).encode(), tuple(needles.distinctive)))
    return found


def generate(sources: list[Base], count: int, at: int) -> list[Mutant]:
    """`count` distinct mutants, drawn by Hypothesis from a fixed seed."""
    found: dict[tuple[bytes, str], Mutant] = {}

    @seed(at)
    @settings(
        max_examples=int(count * 1.6),  # attack shapes repeat: draw more to keep `count` distinct
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(mutants(sources))
    def collect(mutant: Mutant) -> None:
        found.setdefault((mutant.data, mutant.content_type), mutant)

    collect()
    assert len(found) >= count, f"only {len(found)} distinct mutants"
    return list(found.values())[:count]


def good_items(templates: list[bytes], count: int, institution: str, at: int) -> list[Item]:
    rng = random.Random(at)
    items = []
    for index in range(count):
        if index % 2:
            report = sample_case_reports(1, seed=at * 1000 + index)[0]
            items.append(Item("case_report", "application/json", json.dumps(report).encode()))
        else:
            data = fresh_copy(rng.choice(templates), rng)
            items.append(Item("dicom", "application/dicom", data))
    return [Item(i.kind, i.content_type, i.data, institution) for i in items]


async def post_all(url: str, inputs: list[Mutant | Item]) -> list[dict[str, Any]]:
    """POST in order, four at a time; each answer with its status, body and duration."""
    results: list[dict[str, Any]] = [{} for _ in inputs]
    queue = list(enumerate(inputs))
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:

        async def worker() -> None:
            while queue:
                index, given_input = queue.pop(0)
                path = (
                    given_input.path
                    if isinstance(given_input, Mutant)
                    else ("/instances" if given_input.kind == "dicom" else "/case-reports")
                )
                started = time.monotonic()
                answer = await client.post(
                    url + path,
                    content=given_input.data,
                    headers={
                        "Content-Type": given_input.content_type,
                        "X-Institution": HTTP_INSTITUTION,
                    },
                )
                results[index] = {
                    "status": answer.status_code,
                    "text": answer.text,
                    "seconds": time.monotonic() - started,
                }

        await asyncio.gather(*(worker() for _ in range(4)))
    return results


def interleave(bad: list[Mutant], good: list[Item]) -> list[Mutant | Item]:
    mixed: list[Mutant | Item] = []
    for index, mutant in enumerate(bad):
        if index % GOOD_EVERY == 0 and index // GOOD_EVERY < len(good):
            mixed.append(good[index // GOOD_EVERY])
        mixed.append(mutant)
    return mixed


async def produce(
    env: dict[str, str], inputs: list[Mutant | Item], closing: list[Item]
) -> tuple[list[Mutant | Item], list[tuple[int, int]]]:
    """Publish raw-form records (some with damaged headers), then one of `closing` to each
    partition; returns everything sent and its (partition, offset).

    Why the closing records: a record FastStream cannot parse is dead-lettered, but its
    offset is committed only with the next acknowledged record (FastStream has no
    message to acknowledge). Last on its partition, it would hold the group's lag at 1
    until more records come (docs/reliability.md, known limits)."""
    from aiokafka import AIOKafkaProducer

    rng = random.Random(9)
    producer = AIOKafkaProducer(
        bootstrap_servers=env["MEDSHARE_KAFKA_BOOTSTRAP"], max_request_size=80 * 1024 * 1024
    )
    await producer.start()
    positions = []
    topic = env["MEDSHARE_TOPIC_PREFIX"] + "records.submitted"
    try:
        partitions = sorted(await producer.partitions_for(topic))
        assert len(closing) >= len(partitions)
        closing = closing[: len(partitions)]
        inputs = [*inputs, *closing]
        for index, given_input in enumerate(inputs):
            headers = [
                ("medshare-institution", KAFKA_INSTITUTION.encode()),
                ("medshare-submission-id", f"fz-{index}".encode()),
                ("content-type", given_input.content_type.encode()),
            ]
            if isinstance(given_input, Mutant) and rng.random() < 0.1:  # damage the headers
                damage = rng.choice(("drop", "garbage", "kind"))
                victim = rng.randrange(len(headers))
                if damage == "drop":
                    headers.pop(victim)
                elif damage == "garbage":
                    headers[victim] = (headers[victim][0], b"\xff\xfe\x00\x81")
                else:
                    headers[2] = ("content-type", b"text/x-unknown")
            closing_at = index - (len(inputs) - len(closing))
            partition = partitions[closing_at] if closing_at >= 0 else None
            sent = await producer.send_and_wait(
                topic, given_input.data, headers=headers, partition=partition
            )
            positions.append((sent.partition, sent.offset))
    finally:
        await producer.stop()
    return inputs, positions


def drained(env: dict[str, str]) -> bool:
    prefix = env["MEDSHARE_TOPIC_PREFIX"]
    groups = {
        "medshare-ingest": ["submitted"],
        "medshare-anonymizer": ["ingested"],
        "medshare-inference": ["deidentified"],
        "medshare-catalog": ["deidentified", "inferred", "quarantined"],
    }
    for group, topics in groups.items():
        lag = asyncio.run(
            group_lag(
                env["MEDSHARE_KAFKA_BOOTSTRAP"], group, [f"{prefix}records.{t}" for t in topics]
            )
        )
        if any(lag.values()):
            return False
    return True


def alive(fleet: Fleet) -> None:
    for process in fleet.all():
        assert process.is_running(), f"{process.name} crashed:\n{process.tail()}"
        assert process.ready(), f"{process.name} is not ready"


@pytest.mark.timeout(1200)
def test_mutated_records_through_both_doors_each_get_a_reason_and_nothing_stalls(
    reliability_env: dict[str, str], released_templates: list[bytes], tmp_path: Path
) -> None:
    env = reliability_env
    sources = bases(released_templates)
    http_bad = generate(sources, HTTP_MUTANTS, at=1)
    kafka_bad = generate(sources, KAFKA_MUTANTS, at=2)
    http_good = good_items(released_templates, HTTP_MUTANTS // GOOD_EVERY, HTTP_INSTITUTION, 5)
    kafka_good = good_items(released_templates, KAFKA_MUTANTS // GOOD_EVERY, KAFKA_INSTITUTION, 6)
    closing = kafka_good[-8:]  # one good record last on each partition (see produce)
    http_inputs = interleave(http_bad, http_good)
    kafka_inputs = interleave(kafka_bad, kafka_good[:-8])
    assert len(http_bad) + len(kafka_bad) >= 5000

    with running_fleet(env, tmp_path / "logs") as fleet:
        answers = asyncio.run(post_all(fleet.url("ingest"), http_inputs))
        kafka_inputs, positions = asyncio.run(produce(env, kafka_inputs, closing))
        alive(fleet)

        accepted: set[str] = set()
        for given_input, answer in zip(http_inputs, answers, strict=True):
            status = answer["status"]
            assert status < 500, f"{status} for {describe(given_input)}: {answer['text'][:300]}"
            assert answer["seconds"] < 30, f"ingest stalled on {describe(given_input)}"
            body = json.loads(answer["text"])
            if isinstance(given_input, Item):
                assert status == 202, f"a good record was refused: {answer['text'][:300]}"
                accepted.add(body["record_id"])
            elif status in (200, 202):
                accepted.add(body["record_id"])  # a mutation that left a valid record
            else:
                assert 400 <= status < 500 and isinstance(body.get("error"), str) and body["error"]
                assert not scan("answer", answer["text"], given_input.base.needles), (
                    f"the reason echoes the input: {body['error']}"
                )

        deadline = time.monotonic() + 300
        while not drained(env):
            assert time.monotonic() < deadline, "a consumer stalled: its lag never drained"
            time.sleep(2)
        alive(fleet)

    prefix = env["MEDSHARE_TOPIC_PREFIX"]
    rejected = [json.loads(r["value"])["payload"] for r in read(env, prefix + "records.rejected")]
    refused_at = {
        (p["source_partition"], p["source_offset"]): p["reason"]
        for p in rejected
        if p.get("source_topic") == prefix + "records.submitted"
    }
    announced = {
        json.loads(r["value"])["payload"].get("submission_id"): json.loads(r["value"])["payload"]
        for r in read(env, prefix + "records.ingested")
    }
    for index, (given_input, position) in enumerate(zip(kafka_inputs, positions, strict=True)):
        ingested = announced.get(f"fz-{index}")
        if isinstance(given_input, Item):
            assert ingested is not None, f"good Kafka record {index} was not accepted"
        else:
            assert ingested is not None or refused_at.get(position), (
                f"Kafka input {index} ({describe(given_input)}) got neither acceptance nor reason"
            )
        if ingested is not None:
            accepted.add(ingested["record_id"])
    for payload in rejected:
        assert payload["reason"] and "stage" in payload

    kafka_sent_good = [i for i in kafka_inputs if isinstance(i, Item)]
    good_ids = {i.record_id for i in http_good} | {i.record_id for i in kafka_sent_good}
    ends = catalog_ends(env) | {p["record_id"] for p in rejected if p.get("record_id")}
    assert good_ids <= catalog_ends(env), "good records around the bad ones were lost"
    assert accepted <= ends, f"{len(accepted - ends)} accepted records reached no end"
    statuses = [a["status"] for a in answers]
    slowest = max(a["seconds"] for a in answers)
    print(
        f"\nHTTP: {len(http_bad)} mutants + {len(http_good)} good, "
        f"{sum(s >= 400 for s in statuses)} refused; Kafka: {len(kafka_bad)} mutants + "
        f"{len(kafka_sent_good)} good, {len(refused_at)} refused; accepted mutants "
        f"{len(accepted) - len(good_ids)}; slowest answer {slowest:.1f} s"
    )


def read(env: dict[str, str], topic: str) -> list[dict[str, Any]]:
    return asyncio.run(read_topic(env, topic))


def describe(given_input: Mutant | Item) -> str:
    if isinstance(given_input, Item):
        return f"good {given_input.kind}"
    return f"{given_input.base.kind} {given_input.content_type} {'; '.join(given_input.mutations)}"
