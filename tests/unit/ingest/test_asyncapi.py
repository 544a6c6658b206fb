from pathlib import Path

import yaml

from medshare_ingest.doors.kafka.asyncapi import ingest_asyncapi
from medshare_ingest.settings import IngestSettings
from medshare_shared.settings import load_settings

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.yaml"


def test_kafka_door_document_describes_both_forms(clean_environ: None) -> None:
    document = ingest_asyncapi(load_settings(IngestSettings))
    assert document["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {"records.submitted", "records.ingested", "records.rejected"}
    actions = {name.split(":")[0]: op["action"] for name, op in document["operations"].items()}
    assert actions == {
        "records.submitted": "receive",
        "records.ingested": "send",
        "records.rejected": "send",
    }
    messages = document["components"]["messages"]
    submitted = next(m for name, m in messages.items() if name.startswith("records.submitted:"))
    forms = [ref["$ref"].rsplit("/", 1)[-1] for ref in submitted["payload"]["oneOf"]]
    assert forms == ["RecordsSubmittedEnvelope", "RecordsSubmittedRaw"]
    assert "medshare-institution" in submitted["headers"]["properties"]
    schemas = document["components"]["schemas"]
    assert "data_base64" in schemas["RecordSubmitted"]["properties"]
    assert "raw_key" in schemas["RecordIngested"]["properties"]


def test_committed_document_is_current(clean_environ: None) -> None:
    """docs/asyncapi.yaml is what `medshare ingest asyncapi` writes today."""
    assert yaml.safe_load(DOCUMENT.read_text()) == ingest_asyncapi(load_settings(IngestSettings))
