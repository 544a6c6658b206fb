"""Nothing is acknowledged that could be lost: broker and object-store outages.

The shared servers keep running; the app reaches them through proxies that the
test closes (the outage) and reopens (the recovery).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from medshare_infra.processes import free_port
from medshare_ingest.doors.dimse.scp import REFUSED_OUT_OF_RESOURCES
from tests.integration.ingest.conftest import (
    INSTITUTION,
    ingest_app,
    raw_keys,
    read_topic,
    settings_from,
)
from tests.integration.ingest.proxies import KafkaProxy, TcpProxy
from tests.integration.ingest.samples import c_store

DICOM = {"Content-Type": "application/dicom"}
PUBLISH_TIMEOUT_S = 3.0
PACS_AE = "OUTAGE_PACS"


async def test_broker_outage_is_503_then_one_record_after_recovery(
    pipeline_env: dict[str, str], fresh_dicom: Callable[..., bytes]
) -> None:
    host, port = pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"].split(":")
    proxy = KafkaProxy(host, int(port))
    await proxy.open()
    dimse_port = free_port()
    settings = settings_from(
        pipeline_env,
        kafka_bootstrap=proxy.address,
        ingest_publish_timeout_s=PUBLISH_TIMEOUT_S,
        ingest_retry_after_s=7,
        dimse_port=dimse_port,
        dimse_allowed_aes={PACS_AE: INSTITUTION},
    )
    try:
        async with ingest_app(settings) as ingest:
            client = ingest.client
            before = await client.post("/instances", content=fresh_dicom(), headers=DICOM)
            assert before.status_code == 202

            await proxy.close()  # the broker goes away
            during = fresh_dicom()
            started = time.monotonic()
            answer = await client.post("/instances", content=during, headers=DICOM)
            waited = time.monotonic() - started
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] == "7"
            assert "broker" in answer.json()["error"]
            assert waited < PUBLISH_TIMEOUT_S + 3, "a broker outage must not hold the client"
            # A retry during the outage joins the pending announcement: still 503.
            again = await client.post("/instances", content=during, headers=DICOM)
            assert again.status_code == 503
            # The PACS door answers "out of resources" so the PACS retries later.
            status = await asyncio.to_thread(c_store, dimse_port, fresh_dicom(), PACS_AE)
            assert status == REFUSED_OUT_OF_RESOURCES

            await proxy.open()  # the broker is back
            deadline = time.monotonic() + 60
            while True:
                retry = await client.post("/instances", content=during, headers=DICOM)
                if retry.status_code != 503 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(1)
            assert retry.status_code in (200, 202), retry.text
            assert retry.json()["record_id"] == answer_record_id(during)
    finally:
        await proxy.close()

    events = await read_topic(
        pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"],
        pipeline_env["MEDSHARE_TOPIC_PREFIX"] + "records.ingested",
        expect=2,
        idle_s=4,
    )
    ids = [event["payload"]["record_id"] for event in events]
    # The instance sent before and the one sent during the outage, each exactly once.
    # The C-STORE that got A700 may land too (its event was queued): at most once.
    assert ids.count(before.json()["record_id"]) == 1
    assert ids.count(answer_record_id(during)) == 1
    assert len(ids) == len(set(ids))
    assert f"records/{INSTITUTION}/{answer_record_id(during)}" in raw_keys(pipeline_env)


def answer_record_id(data: bytes) -> str:
    import hashlib

    from medshare_shared.ids import record_id_for

    return record_id_for(INSTITUTION, hashlib.sha256(data).hexdigest())


async def committed_offset(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


async def test_object_store_outage_leaves_the_kafka_offset_uncommitted(
    pipeline_env: dict[str, str], fresh_dicom: Callable[..., bytes]
) -> None:
    s3_host, s3_port = pipeline_env["MEDSHARE_S3_ENDPOINT"].split(":")
    proxy = TcpProxy(s3_host, int(s3_port))
    await proxy.open()
    settings = settings_from(pipeline_env, s3_endpoint=proxy.address, ingest_store_timeout_s=20)
    bootstrap = pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"]
    submitted = settings.topics.submitted
    data = fresh_dicom()
    try:
        async with ingest_app(settings):
            await proxy.close()  # the raw zone goes away
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
            await producer.start()
            try:
                await producer.send_and_wait(
                    submitted,
                    data,
                    key=b"sub-1",
                    headers=[
                        ("medshare-institution", INSTITUTION.encode()),
                        ("medshare-submission-id", b"sub-1"),
                        ("content-type", b"application/dicom"),
                    ],
                )
            finally:
                await producer.stop()
            await asyncio.sleep(8)  # a few delivery attempts fail meanwhile
            assert await committed_offset(bootstrap, settings.consumer_group, submitted) == 0
            assert (
                await read_topic(bootstrap, settings.topics.ingested, expect=None, idle_s=1) == []
            )

            await proxy.open()  # back: the uncommitted record is delivered again
            events = await read_topic(bootstrap, settings.topics.ingested, expect=1, idle_s=3)
            deadline = time.monotonic() + 30
            while await committed_offset(bootstrap, settings.consumer_group, submitted) < 1:
                assert time.monotonic() < deadline, "offset never committed after recovery"
                await asyncio.sleep(0.5)
    finally:
        await proxy.close()
    assert [event["payload"]["record_id"] for event in events] == [answer_record_id(data)]
    assert events[0]["payload"]["submission_id"] == "sub-1"
    assert raw_keys(pipeline_env) == [f"records/{INSTITUTION}/{answer_record_id(data)}"]
