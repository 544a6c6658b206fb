"""Issue 13, attacks 6 and 8 (the catalog's part): manifests after revocation, small
cells, missing security headers, metrics and the API description on public ports.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.catalog.conftest import World
from tests.integration.catalog.support import catalog_env, running_catalog


async def test_manifest_follows_todays_agreements(guarded: World) -> None:
    catalog, http = guarded.catalog, guarded.catalog.http
    await catalog.directory.create_project("sec")
    await catalog.directory.add_member("sec", "alice")
    agreement = await catalog.directory.grant("north", "sec")
    alice = guarded.auth("alice")
    body = {"name": "north images", "project": "sec", "query": {"kind": ["dicom"]}}
    created = await http.post("/datasets", json=body, headers=alice)
    assert created.status_code == 201, created.text
    dataset_id = created.json()["dataset_id"]
    frozen = await http.post(f"/datasets/{dataset_id}/freeze", headers=alice)
    assert frozen.status_code == 200, frozen.text
    for suffix in ("manifest.json", "manifest.csv", "archive"):
        assert (
            await http.get(f"/datasets/{dataset_id}/{suffix}", headers=alice)
        ).status_code == 200
    await catalog.directory.revoke(agreement["_id"])
    for suffix in ("manifest.json", "manifest.csv", "archive"):
        refused = await http.get(f"/datasets/{dataset_id}/{suffix}", headers=alice)
        assert refused.status_code == 403, (suffix, refused.text)
        assert "no longer shared" in refused.json()["detail"]


async def test_small_cells_are_suppressed_for_researchers(guarded: World) -> None:
    http = guarded.catalog.http
    facets = (await http.get("/records/facets", headers=guarded.auth("alice"))).json()
    counts = [entry["count"] for values in facets.values() for entry in values]
    assert counts and all(count == "<5" or count >= 5 for count in counts), counts
    stats = (await http.get("/records/stats", headers=guarded.auth("alice"))).json()
    assert all(entry["count"] == "<5" for entry in stats["by_modality"])
    exact = (await http.get("/records/facets", headers=guarded.auth("sam"))).json()
    assert all(isinstance(entry["count"], int) for entry in exact["kind"])
    assert any(entry["count"] < 5 for entry in exact["kind"])


async def test_security_headers_on_page_and_api(world: World) -> None:
    http = world.catalog.http
    for path, headers in (("/ui/", {}), ("/records", world.auth("alice")), ("/records", {})):
        response = await http.get(path, headers=headers)
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
    page = (await http.get("/ui/")).text
    assert "<script>" not in page and "<style" not in page and " style=" not in page
    assert "<script src=" in page


async def test_development_leaves_introspection_open(world: World) -> None:
    for path in ("/metrics", "/openapi.json", "/docs"):
        assert (await world.catalog.http.get(path)).status_code == 200, path


async def test_deployment_puts_introspection_behind_a_secret(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    secret_file = tmp_path / "introspection.secret"
    secret_file.write_text("s" * 40)
    env = catalog_env(
        stack_env, tmp_path, MEDSHARE_CATALOG_INTROSPECTION_TOKEN_FILE=str(secret_file)
    )
    async with running_catalog(env) as catalog:
        http = catalog.http
        admin = catalog.auth("ada", "admin")
        for path in ("/metrics", "/openapi.json", "/docs", "/redoc"):
            assert (await http.get(path)).status_code == 401, path
            assert (await http.get(path, headers=admin)).status_code == 401, path
            allowed = await http.get(path, headers={"Authorization": "Bearer " + "s" * 40})
            assert allowed.status_code == 200, path
        entry = await catalog.db["audit"].find_one({"path": "/metrics", "status": 401})
        assert entry is not None and entry["outcome"] == "denied"
        assert (await http.get("/healthz")).status_code == 200
