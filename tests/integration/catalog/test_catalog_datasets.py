"""Datasets: save a query, refuse to freeze below k (saying why and what would fix it),
freeze a manifest of exact ids and hashes, export it, stream the objects as an archive.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from tests.integration.catalog.support import Catalog, catalog_env, running_catalog

# (age band, sex, ZIP3, year, how many): 6 + 5 share their quasi-identifiers, 1 stands alone.
PEOPLE = [
    ("60-69", "F", "627", 2021, 6),
    ("50-59", "F", "627", 2021, 5),
    ("20-29", "M", "100", 2010, 1),
]


@dataclass
class Lab:
    catalog: Catalog
    payloads: dict[str, bytes]

    def alice(self) -> dict[str, str]:
        return self.catalog.auth("alice", "researcher")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def lab(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lab]:
    env = catalog_env(stack_env, Path(tmp_path_factory.mktemp("keys")))
    async with running_catalog(env) as catalog:
        await catalog.directory.create_project("onco")
        await catalog.directory.add_member("onco", "alice")
        await catalog.directory.create_project("cardio")
        await catalog.directory.add_member("cardio", "bob")
        await catalog.directory.grant("north", "onco")
        payloads = {}
        for age, sex, zip3, year, count in PEOPLE:
            for index in range(count):
                data = json.dumps({"report": f"{age}-{index}", "zip3": zip3}).encode()
                metadata = {
                    "sex": sex,
                    "age_band": age,
                    "zip3": zip3,
                    "encounter_year": year,
                    "diagnosis_codes": ["C50.9" if index % 2 else "D24.9"],
                    "description": f"Case report {year}",
                }
                record_id = await catalog.add_record(
                    institution="north", kind="case_report", metadata=metadata, data=data
                )
                payloads[record_id] = data
        yield Lab(catalog, payloads)


async def create(lab: Lab, name: str, query: dict[str, object]) -> str:
    answer = await lab.catalog.http.post(
        "/datasets", json={"name": name, "project": "onco", "query": query}, headers=lab.alice()
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["dataset_id"])


async def test_freeze_below_k_is_refused_with_the_groups_and_the_fix(lab: Lab) -> None:
    http = lab.catalog.http
    dataset_id = await create(lab, "everything", {})
    risk = (await http.get(f"/datasets/{dataset_id}/risk", headers=lab.alice())).json()
    assert (risk["k"], risk["records"], risk["passes"]) == (1, 12, False)
    refused = await http.post(f"/datasets/{dataset_id}/freeze", headers=lab.alice())
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert detail["message"].startswith("k-anonymity 1 is below the required 5: 1 group(s)")
    small = detail["risk"]["small_groups"]
    assert small == [
        {
            "quasi_identifiers": {
                "device": None,
                "zip3": "100",
                "study_year": 2010,
                "age_band": "20-29",
                "modality": None,
                "institution": "north",
                "sex": "M",
            },
            "size": 1,
        }
    ]
    generalise, suppress = detail["risk"]["suggestions"]
    assert generalise["k"] >= 5 and generalise["generalise"]
    assert suppress == {"suppress_records": 1, "k": 5}
    shown = (await http.get(f"/datasets/{dataset_id}", headers=lab.alice())).json()
    assert shown["state"] == "draft" and shown["risk"]["k"] == 1  # k shows on the dataset
    assert await lab.catalog.db["dataset_items"].count_documents({"dataset": dataset_id}) == 0
    entry = await lab.catalog.db["audit"].find_one(
        {"action": "dataset_freeze", "dataset_id": dataset_id}
    )
    assert entry is not None and entry["outcome"] == "refused"


async def test_freeze_export_and_archive(lab: Lab) -> None:
    http = lab.catalog.http
    dataset_id = await create(lab, "older women", {"sex": ["F"], "age_band": ["60-69", "50-59"]})
    frozen = await http.post(f"/datasets/{dataset_id}/freeze", headers=lab.alice())
    assert frozen.status_code == 200, frozen.text
    body = frozen.json()
    assert (
        body["state"] == "frozen" and body["risk"]["k"] == 5 and body["manifest"]["records"] == 11
    )
    expected = {
        rid: hashlib.sha256(data).hexdigest()
        for rid, data in lab.payloads.items()
        if b"20-29" not in data
    }
    lines = "".join(f"{rid} {sha}\n" for rid, sha in sorted(expected.items()))
    assert body["manifest"]["sha256"] == hashlib.sha256(lines.encode()).hexdigest()

    again = await http.post(f"/datasets/{dataset_id}/freeze", headers=lab.alice())
    assert again.status_code == 409 and again.json()["detail"] == "dataset is frozen"

    manifest = (await http.get(f"/datasets/{dataset_id}/manifest.json", headers=lab.alice())).json()
    assert {e["record_id"]: e["sha256"] for e in manifest["records"]} == expected
    assert manifest["k"] == 5 and manifest["query"] == {
        "sex": ["F"],
        "age_band": ["60-69", "50-59"],
    }
    table = (await http.get(f"/datasets/{dataset_id}/manifest.csv", headers=lab.alice())).text
    rows = list(csv.DictReader(io.StringIO(table)))
    assert {row["record_id"]: row["sha256"] for row in rows} == expected

    archive = await http.get(f"/datasets/{dataset_id}/archive", headers=lab.alice())
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as unpacked:
        for record_id in expected:
            assert unpacked.read(f"records/{record_id}.json") == lab.payloads[record_id]
        assert (
            json.loads(unpacked.read("manifest.json"))["manifest_sha256"]
            == body["manifest"]["sha256"]
        )
    tar = await http.get(
        f"/datasets/{dataset_id}/archive", params={"format": "tar"}, headers=lab.alice()
    )
    with tarfile.open(fileobj=io.BytesIO(tar.content)) as unpacked:
        assert len([n for n in unpacked.getnames() if n.startswith("records/")]) == 11

    # Records arriving after the freeze do not change the frozen manifest.
    await lab.catalog.add_record(
        institution="north",
        kind="case_report",
        metadata={"sex": "F", "age_band": "60-69"},
        data=b'{"late": 1}',
    )
    later = (await http.get(f"/datasets/{dataset_id}/manifest.json", headers=lab.alice())).json()
    assert len(later["records"]) == 11

    audit = lab.catalog.db["audit"]
    for action in ("export", "archive"):
        entry = await audit.find_one({"action": action, "dataset_id": dataset_id})
        assert entry is not None and set(entry["record_ids"]) == set(expected)


async def test_datasets_belong_to_their_project(lab: Lab) -> None:
    http = lab.catalog.http
    dataset_id = await create(lab, "private to onco", {"age_band": ["60-69"]})
    bob = lab.catalog.auth("bob", "researcher")
    for path in ("", "/risk", "/manifest.json", "/archive"):
        assert (await http.get(f"/datasets/{dataset_id}{path}", headers=bob)).status_code == 404
    assert (await http.post(f"/datasets/{dataset_id}/freeze", headers=bob)).status_code == 404
    assert dataset_id not in {
        d["dataset_id"] for d in (await http.get("/datasets", headers=bob)).json()
    }
    wrong = await http.post(
        "/datasets", json={"name": "x", "project": "onco", "query": {}}, headers=bob
    )
    assert wrong.status_code == 403 and wrong.json()["detail"] == "not a member of project onco"


async def test_archive_follows_todays_agreements(lab: Lab) -> None:
    http = lab.catalog.http
    dataset_id = await create(lab, "to be revoked", {"age_band": ["60-69"], "study_year": [2021]})
    assert (
        await http.post(f"/datasets/{dataset_id}/freeze", headers=lab.alice())
    ).status_code == 200
    agreements = await lab.catalog.directory.list_agreements("onco")
    await lab.catalog.directory.revoke(agreements[0]["_id"])
    try:
        refused = await http.get(f"/datasets/{dataset_id}/archive", headers=lab.alice())
        assert refused.status_code == 403
        assert refused.json()["detail"] == "6 record(s) are no longer shared with the project"
    finally:
        await lab.catalog.directory.grant("north", "onco")
