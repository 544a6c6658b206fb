"""Who may call what: a role x endpoint matrix across data-use agreements, token failures,
and an audit entry for every single request, allowed or not.

The world (conftest.py): alice is in onco (north: everything, south: images only),
bob in cardio (east; south expired; north revoked), carol in a project without
agreements, dave in none; sam is a steward, ada an admin.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.catalog.conftest import World

USERS = ("anonymous", "alice", "bob", "carol", "dave", "sam", "ada")
ALL_OK = dict.fromkeys(USERS[1:], 200) | {"anonymous": 401}


def visible_to(*users: str, ok: int = 200, hidden: int = 404) -> dict[str, int]:
    """Data endpoints: curators always, researchers only through an agreement."""
    table = {user: (ok if user in users else hidden) for user in USERS}
    table.update({"anonymous": 401, "sam": ok, "ada": ok})
    return table


def curators(ok: int = 200) -> dict[str, int]:
    return {user: (ok if user in {"sam", "ada"} else 403) for user in USERS} | {"anonymous": 401}


def admins(ok: int = 200) -> dict[str, int]:
    return {user: (ok if user == "ada" else 403) for user in USERS} | {"anonymous": 401}


def headers(world: World, user: str) -> dict[str, str]:
    return {} if user == "anonymous" else world.auth(user)


def matrix(world: World) -> list[tuple[str, str, str, Any, dict[str, int]]]:
    ids = world.ids
    north, east, south_mr = ids["north_ct"], ids["east_ct"], ids["south_mr"]
    study = world.study_uid
    rows: list[tuple[str, str, str, Any, dict[str, int]]] = [
        ("me", "GET", "/me", None, ALL_OK),
        ("search", "GET", "/records", None, ALL_OK),
        ("facets", "GET", "/records/facets", None, ALL_OK),
        ("stats", "GET", "/records/stats", None, ALL_OK),
        ("north image", "GET", f"/records/{north}", None, visible_to("alice")),
        ("east image", "GET", f"/records/{east}", None, visible_to("bob")),
        ("south image", "GET", f"/records/{south_mr}", None, visible_to("alice")),
        # onco takes south's images only; cardio's south agreement has expired.
        ("south report", "GET", f"/records/{ids['south_case']}", None, visible_to()),
        ("withheld image", "GET", f"/records/{ids['north_flagged']}", None, visible_to()),
        ("quarantined", "GET", f"/records/{ids['quarantined']}", None, visible_to(ok=404)),
        ("download", "GET", f"/records/{north}/download", None, visible_to("alice")),
        ("download east", "GET", f"/records/{east}/download", None, visible_to("bob")),
        ("thumbnail", "GET", f"/records/{north}/thumbnail.png", None, visible_to("alice")),
        ("thumbnail withheld", "GET", f"/records/{ids['north_flagged']}/thumbnail.png", None,
         visible_to()),
        ("qido studies", "GET", "/dicomweb/studies", None, ALL_OK),
        ("qido series", "GET", f"/dicomweb/studies/{study}/series", None, ALL_OK),
        ("wado study", "GET", f"/dicomweb/studies/{study}", None,
         visible_to("alice")),
        ("wado metadata", "GET", f"/dicomweb/studies/{study}/metadata", None,
         visible_to("alice")),
        ("review queue", "GET", "/review/queue", None, curators()),
        ("review", "POST", f"/records/{ids['north_case']}/review",
         {"decision": "reject", "reason": "matrix probe"}, curators(ok=200)),
        ("audit", "GET", "/audit", None, curators()),
        ("admin projects", "GET", "/admin/projects", None, admins()),
        ("admin create", "POST", "/admin/projects", {"project": "p-{user}"}, admins(ok=201)),
        ("dataset create", "POST", "/datasets", {"name": "m", "project": "onco", "query": {}},
         {"anonymous": 401, "alice": 201, "bob": 403, "carol": 403, "dave": 403, "sam": 201,
          "ada": 201}),
        ("datasets", "GET", "/datasets", None, ALL_OK),
    ]  # fmt: skip
    return rows


async def test_role_by_endpoint_matrix_with_an_audit_entry_per_request(world: World) -> None:
    http = world.catalog.http
    audit = world.catalog.db["audit"]
    failures = []
    for label, method, path, body, expected in matrix(world):
        for user in USERS:
            if label == "review" and user in {"sam", "ada"}:
                continue  # mutating; exercised below once the matrix is done
            payload = json.loads(json.dumps(body).replace("{user}", user)) if body else None
            before = await audit.count_documents({})
            response = await http.request(method, path, json=payload, headers=headers(world, user))
            after = await audit.count_documents({})
            if response.status_code != expected[user]:
                failures.append(f"{label} as {user}: {response.status_code} != {expected[user]}")
            if after != before + 1:
                failures.append(f"{label} as {user}: {after - before} audit entries, expected 1")
                continue
            entry = await audit.find_one({}, sort=[("at", -1), ("_id", -1)])
            assert entry is not None
            assert entry["path"] == path and entry["method"] == method
            assert entry["user"] == (None if user == "anonymous" else user)
            if response.status_code in {401, 403}:
                assert entry["outcome"] == "denied", (label, user, entry)
                assert entry["status"] == response.status_code
            elif response.status_code == 404:
                assert entry["outcome"] in {"denied", "not_found"}, (label, user, entry)
            else:
                assert entry["outcome"] == "ok", (label, user, entry)
    assert not failures, "\n".join(failures)


async def test_search_results_follow_agreements(world: World) -> None:
    http, ids = world.catalog.http, world.ids
    expected = {
        "alice": {ids["north_ct"], ids["north_ct_2"], ids["north_case"], ids["south_mr"]},
        "bob": {ids["east_ct"], ids["east_case"]},
        "carol": set(),
        "dave": set(),
    }
    for user, visible in expected.items():
        page = (await http.get("/records", params={"limit": 100}, headers=world.auth(user))).json()
        assert {item["record_id"] for item in page["items"]} == visible, user
        assert page["total"] == len(visible)
        facets = (await http.get("/records/facets", headers=world.auth(user))).json()
        assert sum(entry["count"] for entry in facets["kind"]) == len(visible)
        stats = (await http.get("/records/stats", headers=world.auth(user))).json()
        assert stats["total"] == len(visible)
        studies = (await http.get("/dicomweb/instances", headers=world.auth(user))).json()
        assert len(studies) == len(
            {
                i
                for i in visible
                if i in {ids["north_ct"], ids["north_ct_2"], ids["south_mr"], ids["east_ct"]}
            }
        )
    every = (await http.get("/records", params={"limit": 100}, headers=world.auth("sam"))).json()
    assert every["total"] == 8  # every cataloged record, withheld ones included


async def test_token_scoped_to_a_project_narrows_what_a_member_sees(world: World) -> None:
    http, catalog = world.catalog.http, world.catalog
    scoped = {"Authorization": f"Bearer {catalog.token('alice', 'researcher', ('onco',))}"}
    assert (await http.get("/records", headers=scoped)).json()["total"] == 4
    elsewhere = {"Authorization": f"Bearer {catalog.token('alice', 'researcher', ('cardio',))}"}
    assert (await http.get("/records", headers=elsewhere)).json()["total"] == 0
    me = (await http.get("/me", headers=elsewhere)).json()
    assert me["projects"] == [] and me["agreements"] == []


@pytest.mark.parametrize("problem", ["expired", "tampered", "other key", "garbage", "scheme"])
async def test_bad_tokens_are_refused_and_audited(world: World, problem: str) -> None:
    catalog = world.catalog
    token = catalog.token("alice", "researcher")
    if problem == "expired":
        token = catalog.token("alice", "researcher", ttl=timedelta(seconds=-5))
    elif problem == "tampered":
        head, body, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["role"] = "admin"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        token = f"{head}.{forged}.{signature}"
    elif problem == "other key":
        from medshare_catalog.tokens import TokenIssuer

        token = TokenIssuer(b"z" * 32).issue("alice", "admin")
    elif problem == "garbage":
        token = "abc.def.ghi"
    header = f"Basic {token}" if problem == "scheme" else f"Bearer {token}"
    for path in ("/records", f"/records/{world.ids['north_ct']}", "/dicomweb/studies", "/audit"):
        response = await catalog.http.get(path, headers={"Authorization": header})
        assert response.status_code == 401, (problem, path)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert token not in response.text
        entry = await catalog.db["audit"].find_one({"path": path}, sort=[("at", -1), ("_id", -1)])
        assert entry is not None and entry["outcome"] == "denied" and entry["user"] is None
    detail = response.json()["detail"]
    expected = {
        "expired": "token expired",
        "tampered": "token signature invalid",
        "other key": "token signature invalid",
        "scheme": "bearer token required",
    }
    if problem in expected:
        assert detail == expected[problem]


async def test_audit_log_names_who_what_and_which_records(world: World) -> None:
    http, ids = world.catalog.http, world.ids
    await http.get("/records", params={"modality": "CT"}, headers=world.auth("alice"))
    await http.get(f"/records/{ids['north_ct']}", headers=world.auth("alice"))
    await http.get(f"/records/{ids['north_ct']}/download", headers=world.auth("alice"))
    log = (
        await http.get("/audit", params={"user": "alice", "limit": 3}, headers=world.auth("sam"))
    ).json()["items"]
    assert [entry["action"] for entry in log] == ["download_link", "view", "search"]
    assert log[0]["record_ids"] == [ids["north_ct"]] and log[0]["expires_at"]
    assert log[2]["query"] == {"modality": "CT"}
    assert set(log[2]["record_ids"]) == {ids["north_ct"], ids["north_ct_2"]}
    by_record = (
        await http.get(
            "/audit",
            params={"record_id": ids["north_ct"], "action": "view"},
            headers=world.auth("ada"),
        )
    ).json()["items"]
    assert by_record and all(ids["north_ct"] in entry["record_ids"] for entry in by_record)
    # Reading the audit log is itself audited.
    latest = (await http.get("/audit", params={"limit": 1}, headers=world.auth("ada"))).json()
    assert latest["items"][0]["action"] == "audit_read" and latest["items"][0]["user"] == "ada"
    paged = (
        await http.get(
            "/audit", params={"limit": 2, "cursor": latest["next"]}, headers=world.auth("ada")
        )
    ).json()
    assert paged["items"][0]["at"] <= latest["items"][0]["at"]
