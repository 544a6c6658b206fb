"""Issue 13, attack 7: tokens lived forever, could not be revoked, carried their role.

Now lifetimes are capped per role (issuing and verifying), a token id can be put on
a deny list (admin API and `medshare catalog token revoke`), and the role a token
names counts only while the directory grants it: withdrawing it takes effect on
the next request.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

from medshare_catalog.cli import cli
from medshare_catalog.tokens import AUDIENCE, ISSUER
from tests.integration.catalog.conftest import World
from tests.integration.catalog.support import catalog_env, settings_from


def test_a_hundred_year_admin_token_is_not_issued(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    result = CliRunner().invoke(
        cli, ["token", "--user", "eve", "--role", "admin", "--ttl", "36500d"], env=env
    )
    assert result.exit_code != 0
    assert (
        "at most 1d" in result.output and "MEDSHARE_CATALOG_ADMIN_TOKEN_MAX_TTL_S" in result.output
    )
    result = CliRunner().invoke(
        cli, ["token", "--user", "rita", "--role", "researcher", "--ttl", "31d"], env=env
    )
    assert result.exit_code != 0 and "at most 30d" in result.output
    with pytest.raises(ValueError, match="at most"):
        settings = settings_from(env)
        from medshare_catalog.tokens import TokenIssuer, max_ttls

        caps = max_ttls(settings.catalog_token_max_ttl_s, settings.catalog_admin_token_max_ttl_s)
        TokenIssuer(settings.jwt_key(), caps).issue("eve", "admin", ttl=timedelta(days=2))


async def test_a_long_lived_token_signed_with_the_key_is_refused(world: World) -> None:
    """Someone holding the key (or an old build) mints a 100-year token: 401."""
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "ada", "role": "admin", "projects": [],
        "iat": int(now.timestamp()), "exp": int((now + timedelta(days=36500)).timestamp()),
        "jti": "forever",
    }  # fmt: skip
    world.catalog.token("ada", "admin")  # ada holds the role
    forged = jwt.encode(claims, world.catalog.issuer.key, algorithm="HS256")
    response = await world.catalog.http.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and "lifetime" in response.json()["detail"]


async def test_revoked_token_ids_are_refused_on_the_next_request(world: World) -> None:
    http = world.catalog.http
    token = world.catalog.token("alice", "researcher")
    alice = {"Authorization": f"Bearer {token}"}
    assert (await http.get("/me", headers=alice)).status_code == 200
    jti = world.catalog.issuer.verify(token).token_id
    answer = await http.post(
        "/admin/tokens/revoked", json={"token_id": jti}, headers=world.auth("ada")
    )
    assert answer.status_code == 201, answer.text
    refused = await http.get("/me", headers=alice)
    assert refused.status_code == 401 and refused.json()["detail"] == "token revoked"
    assert (
        await http.get("/me", headers=world.auth("alice"))
    ).status_code == 200  # a new one works
    # Researchers cannot revoke; bodies are typed.
    answer = await http.post(
        "/admin/tokens/revoked", json={"token_id": jti}, headers=world.auth("alice")
    )
    assert answer.status_code == 403
    answer = await http.post(
        "/admin/tokens/revoked", json={"token_id": {"$ne": 1}}, headers=world.auth("ada")
    )
    assert answer.status_code == 422


async def test_cli_revocation(world: World) -> None:
    token = world.catalog.token("bob", "researcher")
    jti = world.catalog.issuer.verify(token).token_id
    settings = world.catalog.settings
    env = {"MEDSHARE_MONGO_URL": settings.mongo_url, "MEDSHARE_MONGO_DB": settings.mongo_db}
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["token", "revoke", jti], env=env)
    assert result.exit_code == 0, result.output
    response = await world.catalog.http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_withdrawing_a_role_takes_effect_immediately(world: World) -> None:
    http = world.catalog.http
    steward = world.auth("sam")
    assert (await http.get("/review/queue", headers=steward)).status_code == 200
    answer = await http.delete("/admin/users/sam/roles/steward", headers=world.auth("ada"))
    assert answer.status_code == 200 and "steward" not in answer.json()["roles"]
    refused = await http.get("/review/queue", headers=steward)  # the same, unexpired token
    assert refused.status_code == 403 and "not granted" in refused.json()["detail"]
    answer = await http.put("/admin/users/sam/roles/steward", headers=world.auth("ada"))
    assert answer.status_code == 200
    assert (await http.get("/review/queue", headers=steward)).status_code == 200
    # A token naming a role the directory never granted is refused.
    stranger = world.catalog.issuer.issue("mallory", "admin")
    answer = await http.get("/admin/projects", headers={"Authorization": f"Bearer {stranger}"})
    assert answer.status_code == 403
