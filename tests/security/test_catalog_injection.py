"""Issue 13, attack 1: operator injection and regex denial of service through queries.

Saved dataset queries were `dict[str, Any]`: `{"model": {"$ne": ...}}` was stored and
matched, a nested-quantifier `$regex` pinned the database, `{"q": {"$ne": 1}}` answered
500. Now every filter is typed; the same bodies answer 422 with a short reason, are
audited with that status, and nothing is stored. A query may not hold the database:
each carries maxTimeMS and a client deadline, and running past it answers 503.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from medshare_catalog.store.synthetic import synthetic_document, synthetic_event
from tests.integration.catalog.conftest import World
from tests.integration.catalog.support import catalog_env, running_catalog

HOSTILE_QUERIES = [
    {"model": {"$ne": "no-such-model"}},
    {"model_version": {"$gt": ""}},
    {"q": {"$ne": 1}},
    {"modality": [{"$regex": "^(a+)+$"}]},
    {"institution": {"$in": ["north", "south"]}},
    {"diagnosis": ["(C5|C5)+*"]},
    {"$where": "sleep(10000)"},
    {"q": "x" * 5000},
    {"modality": ["CT"] * 500},
    {"output": "x", "output_min": {"$gt": 0}},
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=lambda q: str(q)[:40])
async def test_hostile_saved_query_is_refused_with_422_and_audited(
    world: World, query: dict[str, object]
) -> None:
    http, auth = world.catalog.http, world.auth("alice")
    body = {"name": f"attack {uuid.uuid4().hex[:6]}", "project": "onco", "query": query}
    response = await http.post("/datasets", json=body, headers=auth)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and len(detail) < 400
    assert "$" not in detail or "sleep" not in detail  # the input is not echoed back
    stored = await world.catalog.db["datasets"].find_one({"name": body["name"]})
    assert stored is None
    entry = await world.catalog.db["audit"].find_one(
        {"path": "/datasets", "method": "POST"}, sort=[("_id", -1)]
    )
    assert entry is not None and entry["status"] == 422 and entry["user"] == "alice"


async def test_injected_operators_in_query_strings_are_values_or_refused(world: World) -> None:
    http, auth = world.catalog.http, world.auth("sam")
    answer = await http.get("/records", params={"q": "chest.* (a+)+$"}, headers=auth)
    assert answer.status_code == 200 and answer.json()["total"] == 0  # words, not a pattern
    answer = await http.get("/records", params={"diagnosis": "(C5)+*"}, headers=auth)
    assert answer.status_code == 422 and isinstance(answer.json()["detail"], str)
    answer = await http.get("/records", params={"q": "q" * 400}, headers=auth)
    assert answer.status_code == 422
    answer = await http.get(
        "/dicomweb/studies", params={"PatientName": "*a*a*a*a*a*a*a*a*a*b"}, headers=auth
    )
    assert answer.status_code == 400


async def test_a_stored_query_that_no_longer_validates_is_refused(world: World) -> None:
    """A dataset written straight into MongoDB with an operator in its query never runs."""
    dataset_id = uuid.uuid4().hex[:16]
    await world.catalog.db["datasets"].insert_one(
        {
            "_id": dataset_id,
            "name": "planted",
            "project": "onco",
            "owner": "alice",
            "query": {"model": {"$ne": "no-such-model"}},
            "state": "draft",
        }
    )
    http, auth = world.catalog.http, world.auth("alice")
    for method, path in (("GET", "risk"), ("POST", "freeze")):
        response = await http.request(method, f"/datasets/{dataset_id}/{path}", headers=auth)
        assert response.status_code == 422, response.text
        assert "stored query invalid" in response.json()["detail"]
    left = await world.catalog.db["datasets"].find_one({"_id": dataset_id})
    assert left is not None and left["state"] == "draft"


async def test_a_query_past_the_time_limit_answers_503_not_a_hang(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path, MEDSHARE_CATALOG_QUERY_TIMEOUT_S="0.001")
    async with running_catalog(env) as catalog:
        import random

        rng = random.Random(13)
        documents = []
        for index in range(3000):
            record, results = synthetic_event(index, rng)
            documents.append(synthetic_document(record, results, ("burned-in-text",)))
        await catalog.records.collection.insert_many(documents)
        started = time.monotonic()
        # A free-text filter is counted from the records, not read from the facet read model.
        response = await catalog.http.get(
            "/records/facets", params={"q": "chest"}, headers=catalog.auth("sam", "steward")
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert "time limit" in response.json()["detail"]
        assert elapsed < 10
        # The database is still serving: a cheap request answers.
        alive = await catalog.http.get("/me", headers=catalog.auth("sam", "steward"))
        assert alive.status_code == 200
        entry = await catalog.db["audit"].find_one({"path": "/records/facets"})
        assert entry is not None and entry["status"] == 503 and entry["outcome"] == "error"
