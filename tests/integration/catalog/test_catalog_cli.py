"""`medshare catalog projects ...` and `token` operate a deployment the API then honours."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from medshare_catalog.cli import cli
from medshare_catalog.store.facets import FacetTally, facet_cell
from medshare_catalog.store.synthetic import synthetic_document, synthetic_event
from tests.integration.catalog.support import catalog_env, image_bytes, running_catalog

GATES = ("burned-in-text",)


async def test_projects_agreements_and_tokens_from_the_command_line(
    stack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = catalog_env(stack_env, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with running_catalog(env) as catalog:
        data, meta = image_bytes()
        record_id = await catalog.add_record(
            institution="north", kind="dicom", metadata=meta, data=data
        )
        runner = CliRunner()

        # The CLI runs its own event loop: it gets a thread of its own.
        def medshare(*args: str) -> str:
            result = runner.invoke(cli, list(args), catch_exceptions=False)
            assert result.exit_code == 0, result.output
            return result.output

        async def run(*args: str) -> str:
            return await asyncio.to_thread(medshare, *args)

        await run("projects", "create", "onco", "--title", "Oncology")
        await run("projects", "add-member", "onco", "alice")
        granted = await run(
            "projects", "grant", "onco", "--institution", "north", "--kind", "dicom"
        )
        agreement_id = granted.split()[1].rstrip(":")
        listed = json.loads(await run("projects", "list"))
        assert listed[0]["members"] == ["alice"]
        assert listed[0]["agreements"][0]["kinds"] == ["dicom"]

        issued = await run("token", "--user", "alice", "--role", "researcher", "--ttl", "5m")
        token = issued.splitlines()[0]  # then "token id: <jti>" on stderr
        assert issued.splitlines()[1].startswith("token id: ")
        headers = {"Authorization": f"Bearer {token}"}
        assert (await catalog.http.get(f"/records/{record_id}", headers=headers)).status_code == 200

        await run("projects", "revoke", agreement_id)
        assert (await catalog.http.get(f"/records/{record_id}", headers=headers)).status_code == 404

        duplicate = await asyncio.to_thread(runner.invoke, cli, ["projects", "create", "onco"])
        assert duplicate.exit_code == 1 and "project onco exists already" in duplicate.output
        expired = (
            await run("token", "--user", "alice", "--role", "researcher", "--ttl", "-1s")
        ).splitlines()[0]
        refused = await catalog.http.get("/me", headers={"Authorization": f"Bearer {expired}"})
        assert refused.status_code == 401 and refused.json()["detail"] == "token expired"


async def test_rederive_rebuilds_the_facet_read_model(
    stack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records without a read model (an upgraded catalog) get it from `rederive`."""
    env = catalog_env(stack_env, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with running_catalog(env) as catalog:
        rng = random.Random(5)
        documents = [synthetic_document(*synthetic_event(i, rng), GATES) for i in range(300)]
        tally = FacetTally()
        for document in documents:
            tally.add(facet_cell(document))
            del document["facet_cell"]  # as records folded before the read model existed
        await catalog.records.collection.insert_many(documents)
        buckets = catalog.records.facets.collection
        await buckets.delete_many({})
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["rederive"])
        assert result.exit_code == 0, result.output
        assert "300 records re-derived" in result.output
        rebuilt = await buckets.find({"records": {"$exists": True}}).sort("_id", 1).to_list()
        assert rebuilt == sorted(tally.documents(), key=lambda b: b["_id"])
        assert await buckets.find_one({"_id": "~complete"}) is not None
        stored = await catalog.records.collection.find_one({"_id": documents[0]["_id"]})
        assert stored is not None and stored["facet_cell"] == facet_cell(stored)
