"""Issue 13, attack 5: requests refused by validation or failing left no audit entry, and
201 was logged as 200. Now every request leaves one entry with the status actually
sent; the entries form a hash chain that `medshare catalog audit verify` checks, so
editing or deleting an entry in MongoDB is detected (and named).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from click.testing import CliRunner

from medshare_catalog.cli import cli
from medshare_catalog.store.audit import AuditLog
from tests.integration.catalog.conftest import World
from tests.integration.catalog.support import catalog_env, running_catalog


async def last_entry(world: World, path: str, method: str = "GET") -> dict[str, object]:
    entry = await world.catalog.db["audit"].find_one(
        {"path": path, "method": method}, sort=[("_id", -1)]
    )
    assert entry is not None, path
    return dict(entry)


async def test_every_outcome_is_audited_with_its_real_status(world: World) -> None:
    http = world.catalog.http
    alice, ada = world.auth("alice"), world.auth("ada")
    hostile = {"name": "x", "project": "onco", "query": {"q": {"$ne": 1}}}
    fine = {"name": "ok", "project": "onco", "query": {"kind": ["dicom"]}}
    cases = [
        ("POST", "/datasets", hostile, alice, 422),
        ("GET", "/records", None, {}, 401),
        ("GET", "/audit", None, alice, 403),
        ("GET", "/records/no-such-record", None, alice, 404),
        ("GET", "/records?limit=0", None, alice, 422),
        ("POST", "/admin/projects", {"project": f"p{uuid.uuid4().hex[:6]}"}, ada, 201),
        ("POST", "/datasets", fine, alice, 201),
    ]  # fmt: skip
    for method, url, body, headers, status in cases:
        response = await http.request(method, url, json=body, headers=headers)
        assert response.status_code == status, (url, response.text)
        entry = await last_entry(world, url.split("?")[0], method)
        assert entry["status"] == status, (url, entry)
    entry = await last_entry(world, "/audit")
    assert entry["user"] == "alice" and entry["outcome"] == "denied"


async def test_tokens_never_reach_the_audit_log(world: World) -> None:
    token = world.catalog.token("alice", "researcher")
    http = world.catalog.http
    await http.get("/records", headers={"Authorization": f"Bearer {token}"})
    await http.get(
        "/records", params={"token": token}, headers={"Authorization": "Bearer x" + token}
    )
    async for entry in world.catalog.db["audit"].find({}):
        assert token not in str(entry)


async def test_concurrent_requests_keep_one_unbroken_chain(world: World) -> None:
    http, auth = world.catalog.http, world.auth("sam")
    await asyncio.gather(*(http.get("/me", headers=auth) for _ in range(20)))
    report = await AuditLog(world.catalog.db["audit"]).verify()
    assert report.intact, report
    assert report.entries == await world.catalog.db["audit"].count_documents({})


def verify(env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    return result.exit_code, result.output


async def test_tampering_is_detected_by_audit_verify(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    async with running_catalog(env) as catalog:
        auth = catalog.auth("sam", "steward")
        for _ in range(5):
            await catalog.http.get("/me", headers=auth)
        await catalog.http.get("/audit", headers=catalog.auth("alice", "researcher"))
        code, output = await asyncio.to_thread(verify, env)
        assert code == 0 and "intact: 6 entries" in output, output

        audit = catalog.db["audit"]
        # Cover up the refused attempt: edit its status and outcome in place.
        await audit.update_one({"_id": "000000000006"}, {"$set": {"status": 200, "outcome": "ok"}})
        code, output = await asyncio.to_thread(verify, env)
        assert code != 0 and "000000000006" in output and "hash" in output, output

        # Delete an entry in the middle instead.
        await audit.update_one(
            {"_id": "000000000006"}, {"$set": {"status": 403, "outcome": "denied"}}
        )
        assert (await asyncio.to_thread(verify, env))[0] == 0
        await audit.delete_one({"_id": "000000000003"})
        code, output = await asyncio.to_thread(verify, env)
        assert code != 0 and "000000000004" in output, output


def test_no_update_or_delete_path_exists_for_the_audit_log() -> None:
    root = Path(__file__).resolve().parents[2] / "services" / "catalog" / "medshare_catalog"
    writers = ("update_one", "update_many", "replace_one", "delete_one", "delete_many", "drop")
    for source in [root / "store" / "audit.py", root / "store" / "chain.py"]:
        text = source.read_text()
        for call in writers:
            # The head document is a hint (heads.update_one); entries are only inserted.
            hits = [line for line in text.splitlines() if f".{call}(" in line]
            assert all("self.heads" in line for line in hits), (source.name, hits)
