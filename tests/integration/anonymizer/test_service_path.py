"""The anonymizer's service path against the real servers: Kafka in, shared zone and topics out.

Real files (pydicom-data, deid-data) go into a fresh raw bucket; a records.ingested
event per file reaches the anonymizer app (in-process, with its lifespan: broker,
consumer, buckets). The test then reads the shared zone and every output topic.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from deid_data.data import get_dataset
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medshare_anonymizer.app import create_app
from medshare_anonymizer.settings import AnonymizerSettings
from medshare_anonymizer.verify.dicom import verify_bytes
from medshare_shared.events import RecordIngested, envelope
from medshare_shared.object_store import ObjectStore
from medshare_shared.topics import Topics
from tests.integration.ingest.conftest import read_topic

INSTITUTION = "springfield-general"


def sample(name: str) -> bytes:
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return Path(str(path)).read_bytes()


def ultrasound() -> bytes:
    return (Path(str(get_dataset("ultrasounds"))) / "GREYSCALE_IMAGE.dcm").read_bytes()


def read(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(data))


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def planted_leak() -> bytes:
    """CT_small with its patient's surname inside a nested free-text attribute that
    Table E.1-1 does not list (so the profile keeps it)."""
    ds = read(sample("CT_small.dcm"))
    modifier = Dataset()
    modifier.CodeMeaning = "compared with CompressedSamples prior"
    ds.AnatomicRegionSequence = Sequence([Dataset()])
    ds.AnatomicRegionSequence[0].AnatomicRegionModifierSequence = Sequence([modifier])
    return to_bytes(ds)


def phi_of(data: bytes) -> list[bytes]:
    """Identifying source values a leak would show: name parts, IDs, dates, UIDs."""
    ds = read(data)
    # Name parts of five letters or more: shorter ones ("NEW", "TEST") are everyday words.
    found = [part.encode() for part in str(ds.get("PatientName", "")).replace("^", " ").split()
             if len(part) >= 5]  # fmt: skip
    for keyword in ("PatientID", "StudyDate", "PatientBirthDate", "InstitutionName",
                    "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):  # fmt: skip
        value = str(ds.get(keyword, "") or "").strip()
        if len(value) >= 4:
            found.append(value.encode())
    return found


def contains(haystack: bytes, value: bytes) -> bool:
    """``value`` as a whole word in ``haystack``, ignoring case."""
    pattern = rb"(?<![A-Za-z0-9])" + re.escape(value) + rb"(?![A-Za-z0-9])"
    return re.search(pattern, haystack, re.IGNORECASE) is not None


def settings_for(env: dict[str, str], options: str) -> AnonymizerSettings:
    values = {key.removeprefix("MEDSHARE_").lower(): value for key, value in env.items()
              if key.startswith("MEDSHARE_")}  # fmt: skip
    values["consumer_group"] = "anonymizer-" + env["MEDSHARE_TOPIC_PREFIX"].strip(".")
    values["anonymizer_options"] = options
    return AnonymizerSettings(**values)


@asynccontextmanager
async def anonymizer(settings: AnonymizerSettings) -> AsyncIterator[None]:
    async with LifespanManager(create_app(settings), startup_timeout=60, shutdown_timeout=30):
        yield


async def publish_ingested(settings: AnonymizerSettings, store: ObjectStore,
                           inputs: dict[str, bytes]) -> dict[str, str]:  # fmt: skip
    """Raw objects into the raw zone, one records.ingested event each; name -> record id."""
    await store.ensure_bucket(settings.raw_bucket)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    records = {}
    try:
        for name, data in inputs.items():
            record_id = uuid.uuid4().hex
            key = f"records/{INSTITUTION}/{record_id}"
            await store.put(settings.raw_bucket, key, data, "application/dicom")
            event = envelope(
                RecordIngested(record_id=record_id, institution=INSTITUTION, kind="dicom",
                               content_type="application/dicom",
                               sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                               raw_bucket=settings.raw_bucket, raw_key=key,
                               received_at=datetime.now(UTC)),
                event_type="records.ingested", producer="ingest",
            )  # fmt: skip
            await producer.send_and_wait(
                settings.topics.ingested, event.model_dump_json().encode(), key=record_id.encode()
            )
            records[name] = record_id
    finally:
        await producer.stop()
    return records


async def outcomes(topics: Topics, bootstrap: str, expect: int) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for name in ("deidentified", "quarantined", "rejected"):
        found[name] = await read_topic(bootstrap, getattr(topics, name), idle_s=1.0, max_s=20)
    if sum(map(len, found.values())) < expect:  # a slow start: read once more
        for name in found:
            found[name] = await read_topic(bootstrap, getattr(topics, name), idle_s=3, max_s=60)
    return found


def by_record(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["payload"]["record_id"]: m for m in messages}


@pytest.fixture
def store(pipeline_env: dict[str, str]) -> ObjectStore:
    env = pipeline_env
    return ObjectStore(env["MEDSHARE_S3_ENDPOINT"], env["MEDSHARE_S3_ACCESS_KEY"],
                       env["MEDSHARE_S3_SECRET_KEY"])  # fmt: skip


async def test_service_releases_quarantines_and_rejects_with_no_phi_past_the_raw_zone(
    pipeline_env: dict[str, str], store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(pipeline_env, "retain-long-modified-dates")
    inputs = {
        "ct": sample("CT_small.dcm"),
        "compressed": sample("MR2_J2KR.dcm"),  # pydicom-data, JPEG 2000 lossless
        "ultrasound": ultrasound(),  # deid-data, demographics burned into the pixels
        "leak": planted_leak(),
        "truncated": sample("CT_small.dcm")[:5000],
    }
    caplog.set_level(logging.DEBUG)
    async with anonymizer(settings):
        records = await publish_ingested(settings, store, inputs)
        found = await outcomes(settings.topics, settings.kafka_bootstrap, len(inputs))
    released = by_record(found["deidentified"])
    quarantined = by_record(found["quarantined"])
    rejected = by_record(found["rejected"])
    assert set(released) == {records["ct"], records["compressed"]}
    assert set(quarantined) == {records["ultrasound"], records["leak"]}
    assert set(rejected) == {records["truncated"]}

    all_phi = sorted({value for data in inputs.values() if len(data) > 6000
                      for value in phi_of(data)})  # fmt: skip
    assert b"CompressedSamples" in all_phi
    for name in ("ct", "compressed"):
        event = released[records[name]]
        payload = event["payload"]
        shared = store.get_sync(payload["shared_bucket"], payload["shared_key"])
        assert hashlib.sha256(shared).hexdigest() == payload["sha256"]
        assert payload["shared_bucket"] == settings.shared_bucket
        assert [value for value in phi_of(inputs[name]) if contains(shared, value)] == [], name
        assert verify_bytes(inputs[name], shared, settings.option_set()) == []
        out = read(shared)
        assert out.PatientIdentityRemoved == "YES"
        assert out.LongitudinalTemporalInformationModified == "MODIFIED"
        assert out.file_meta.TransferSyntaxUID == read(inputs[name]).file_meta.TransferSyntaxUID
        assert (out.pixel_array == read(inputs[name]).pixel_array).all()
        report = payload["report"]
        assert report["verifier"] == "passed" and report["options"] == [
            "retain-long-modified-dates"
        ]
        assert report["actions"]["U"] >= 3 and report["actions"]["pseudonym"] >= 1
        assert payload["patient_pseudonym"].startswith("P-")
        assert payload["metadata"]["sop_instance_uid"] == out.SOPInstanceUID
    shared_keys = {str(o.object_name) for o in
                   store.client.list_objects(settings.shared_bucket, recursive=True)}  # fmt: skip
    assert shared_keys == {released[records[n]]["payload"]["shared_key"]
                           for n in ("ct", "compressed")}  # fmt: skip

    us = quarantined[records["ultrasound"]]["payload"]
    assert us["stage"] == "anonymizer" and "text read in pixels" in us["reason"]
    assert "clean-pixel-data not enabled" in us["reason"]
    leak = quarantined[records["leak"]]["payload"]
    path = "AnatomicRegionSequence[0].AnatomicRegionModifierSequence[0].CodeMeaning"
    assert leak["findings"] == [path] and path in leak["reason"]
    cut = rejected[records["truncated"]]["payload"]
    assert cut["stage"] == "anonymizer" and "truncated" in cut["reason"]

    # Nothing past the raw zone names the patients: events and logs alike.
    published = b" ".join(str(m).encode() for messages in found.values() for m in messages)
    logged = caplog.text.encode()
    assert b"quarantined" in logged and b"de-identified" in logged  # the service's own lines
    for value in all_phi:
        assert not contains(published, value), value
        assert not contains(logged, value), value


async def test_clean_pixel_data_releases_the_ultrasound_with_its_header_blanked(
    pipeline_env: dict[str, str], store: ObjectStore
) -> None:
    settings = settings_for(pipeline_env, "retain-long-modified-dates,clean-pixel-data")
    source = ultrasound()
    async with anonymizer(settings):
        records = await publish_ingested(settings, store, {"ultrasound": source})
        found = await outcomes(settings.topics, settings.kafka_bootstrap, 1)
    assert found["quarantined"] == [] and found["rejected"] == []
    (event,) = found["deidentified"]
    assert event["payload"]["record_id"] == records["ultrasound"]
    shared = store.get_sync(event["payload"]["shared_bucket"], event["payload"]["shared_key"])
    out, before = read(shared), read(source)
    band = 38  # the Philips EPIQ 1024x768 rule: the demographics header rows
    after = np.asarray(out.pixel_array)
    assert np.asarray(before.pixel_array)[:band].any() and not after[:band].any()
    # Below the band only the lines OCR read (a caption, measurements) went to 0.
    rest, rest_before = after[band:], np.asarray(before.pixel_array)[band:]
    changed = rest != rest_before
    assert not rest[changed].any() and changed.mean() < 0.05
    assert out.BurnedInAnnotation == "NO"
    assert "113101" in [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert event["payload"]["metadata"]["burned_in_annotation"] == "NO"
    assert [value for value in phi_of(source) if contains(shared, value)] == []
