"""Bearer tokens: what verifies, and every way one must not."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from medshare_catalog.tokens import ISSUER, TokenError, TokenIssuer

KEY = b"k" * 32


def test_round_trip_keeps_user_role_and_projects() -> None:
    issuer = TokenIssuer(KEY)
    principal = issuer.verify(issuer.issue("alice", "researcher", ("onco", "cardio")))
    assert (principal.user, principal.role, principal.projects) == (
        "alice",
        "researcher",
        ("onco", "cardio"),
    )
    assert principal.token_id and not principal.is_curator
    assert issuer.verify(issuer.issue("sam", "steward")).is_curator


def test_expired_token_is_refused() -> None:
    issuer = TokenIssuer(KEY)
    token = issuer.issue("alice", "researcher", ttl=timedelta(seconds=-1))
    with pytest.raises(TokenError, match="expired"):
        issuer.verify(token)


def test_tampered_payload_fails_the_signature() -> None:
    issuer = TokenIssuer(KEY)
    header, payload, signature = issuer.issue("alice", "researcher").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(TokenError, match="signature"):
        issuer.verify(f"{header}.{forged}.{signature}")


def test_other_key_and_unsigned_tokens_are_refused() -> None:
    other = TokenIssuer(b"x" * 32).issue("alice", "admin")
    with pytest.raises(TokenError, match="signature"):
        TokenIssuer(KEY).verify(other)
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": ISSUER,
        "aud": ISSUER,
        "sub": "eve",
        "role": "admin",
        "iat": now,
        "exp": now + 60,
    }
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(TokenError):
        TokenIssuer(KEY).verify(unsigned)
    with pytest.raises(TokenError):
        TokenIssuer(KEY).verify("not-a-token")


def test_unknown_role_or_missing_claims_are_refused() -> None:
    now = int(datetime.now(UTC).timestamp())
    base = {"iss": ISSUER, "aud": ISSUER, "sub": "eve", "iat": now, "exp": now + 60, "jti": "x1"}
    with pytest.raises(TokenError, match="role"):
        TokenIssuer(KEY).verify(jwt.encode({**base, "role": "root"}, KEY, algorithm="HS256"))
    without_exp = {k: v for k, v in base.items() if k != "exp"}
    with pytest.raises(TokenError):
        TokenIssuer(KEY).verify(
            jwt.encode({**without_exp, "role": "admin"}, KEY, algorithm="HS256")
        )
    wrong_audience = {**base, "aud": "someone-else", "role": "admin"}
    with pytest.raises(TokenError):
        TokenIssuer(KEY).verify(jwt.encode(wrong_audience, KEY, algorithm="HS256"))
    with pytest.raises(ValueError, match="unknown role"):
        TokenIssuer(KEY).issue("eve", "root")  # type: ignore[arg-type]


def test_error_messages_never_echo_the_token() -> None:
    token = TokenIssuer(b"x" * 32).issue("alice", "admin")
    with pytest.raises(TokenError) as caught:
        TokenIssuer(KEY).verify(token)
    assert token not in str(caught.value) and "alice" not in str(caught.value)
