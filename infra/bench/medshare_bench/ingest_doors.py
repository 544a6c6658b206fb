"""The benchmark's clients, one per door, each with N concurrent senders.

Every client times each instance from "sent" to "acknowledged" and the whole batch
from the first send to the last acknowledgement.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import pydicom

from medshare_bench.ingest_service import BENCH_AE, BENCH_INSTITUTION
from medshare_shared.topics import Topics

DOORS = ("http", "dicom", "kafka")
ACK_TIMEOUT_S = 120.0


class Target(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def dimse_port(self) -> int: ...

    @property
    def topics(self) -> Topics: ...

    @property
    def bootstrap(self) -> str: ...


@dataclass
class DoorRun:
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0


async def run_door(door: str, target: Target, instances: list[bytes], concurrency: int) -> DoorRun:
    if door == "http":
        return await http_door(target.url, instances, concurrency)
    if door == "dicom":
        return await asyncio.to_thread(_dicom, target.dimse_port, instances, concurrency)
    if door == "kafka":
        return await _kafka(target.bootstrap, target.topics, instances, concurrency)
    raise ValueError(f"unknown door {door}")


async def http_door(
    url: str, instances: list[bytes], concurrency: int, ok_status: int = 202
) -> DoorRun:
    """POST /instances from `concurrency` clients; `ok_status` is the acknowledgement."""
    run = DoorRun()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"X-Institution": BENCH_INSTITUTION, "Content-Type": "application/dicom"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=ACK_TIMEOUT_S) as client:
        queue = iter(instances)

        async def sender() -> None:
            for data in queue:  # one shared iterator: each instance is sent once
                started = time.perf_counter()
                try:
                    answer = await client.post("/instances", content=data, headers=headers)
                except httpx.HTTPError:
                    run.errors += 1
                    continue
                if answer.status_code == ok_status:
                    run.latencies_s.append(time.perf_counter() - started)
                else:
                    run.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        run.wall_s = time.perf_counter() - started
    return run


def _dicom(port: int, instances: list[bytes], concurrency: int) -> DoorRun:
    """One association per client thread, as a PACS with N send queues would do."""
    from pynetdicom import AE

    datasets = [pydicom.dcmread(io.BytesIO(data)) for data in instances]  # decoded untimed
    contexts = sorted(
        {(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in datasets}
    )
    run = DoorRun()
    lock = threading.Lock()
    start_line = threading.Barrier(concurrency + 1)

    def client(share: list[pydicom.Dataset]) -> None:
        ae = AE(ae_title=BENCH_AE)
        for sop_class, syntax in contexts:
            ae.add_requested_context(sop_class, [syntax])
        assoc = ae.associate("127.0.0.1", port, ae_title="MEDSHARE")
        if assoc.is_established and assoc.dul.socket and assoc.dul.socket.socket:
            # As dcmtk's storescu does by default: without it every C-STORE waits ~40 ms
            # for a delayed ACK (Nagle), which would measure the client, not ingest.
            assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start_line.wait()
        try:
            for dataset in share:
                started = time.perf_counter()
                status = assoc.send_c_store(dataset) if assoc.is_established else None
                elapsed = time.perf_counter() - started
                with lock:
                    if status is not None and int(status.get("Status", -1)) == 0:
                        run.latencies_s.append(elapsed)
                    else:
                        run.errors += 1
        finally:
            if assoc.is_established:
                assoc.release()

    threads = [
        threading.Thread(target=client, args=(datasets[index::concurrency],), daemon=True)
        for index in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    start_line.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    run.wall_s = time.perf_counter() - started
    return run


async def _partitions(consumer: Any, topic: str) -> set[int]:
    """The topic's partitions (a new consumer knows no topic metadata until it asks)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await consumer._client.force_metadata_update()  # aiokafka has no public "refresh"
        found: set[int] | None = consumer.partitions_for_topic(topic)
        if found:
            return found
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no partitions for {topic}")


async def _kafka(
    bootstrap: str, topics: Topics, instances: list[bytes], concurrency: int
) -> DoorRun:
    """Raw-form submissions; acknowledged when records.ingested names their submission id."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    run = DoorRun()
    loop = asyncio.get_running_loop()
    waiting: dict[str, asyncio.Future[float]] = {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, max_request_size=64 * 1024 * 1024, linger_ms=0
    )
    await consumer.start()
    await producer.start()
    try:
        numbers = sorted(await _partitions(consumer, topics.ingested))
        partitions = [TopicPartition(topics.ingested, number) for number in numbers]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)  # resolve the seek before anything is sent

        async def acknowledgements() -> None:
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                now = time.perf_counter()
                for records in batch.values():
                    for record in records:
                        submission = json.loads(record.value)["payload"].get("submission_id")
                        future = waiting.get(submission)
                        if future is not None and not future.done():
                            future.set_result(now)

        listener = asyncio.create_task(acknowledgements())
        slots = asyncio.Semaphore(concurrency)

        async def submit(index: int, data: bytes) -> None:
            submission_id = f"bench-{index}-{id(data)}"
            async with slots:
                waiting[submission_id] = loop.create_future()
                started = time.perf_counter()
                await producer.send_and_wait(
                    topics.submitted,
                    data,
                    key=submission_id.encode(),
                    headers=[
                        ("medshare-institution", BENCH_INSTITUTION.encode()),
                        ("medshare-submission-id", submission_id.encode()),
                        ("content-type", b"application/dicom"),
                    ],
                )
                try:
                    acknowledged = await asyncio.wait_for(waiting[submission_id], ACK_TIMEOUT_S)
                except TimeoutError:
                    run.errors += 1
                    return
                run.latencies_s.append(acknowledged - started)

        started = time.perf_counter()
        await asyncio.gather(*(submit(i, data) for i, data in enumerate(instances)))
        run.wall_s = time.perf_counter() - started
        listener.cancel()
    finally:
        await producer.stop()
        await consumer.stop()
    return run
