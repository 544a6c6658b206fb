"""Bearer tokens: HS256 JWTs naming the user, their role and (optionally) projects.

The key comes from MEDSHARE_CATALOG_JWT_SECRET(_FILE), never the repository. A
token is checked for signature, issuer, audience, expiry and shape; every failure
is one `TokenError` whose message names the problem, never the token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

import jwt

Role = Literal["researcher", "steward", "admin"]
ROLES: tuple[Role, ...] = ("researcher", "steward", "admin")
ISSUER = "medshare-catalog"
AUDIENCE = "medshare-catalog"
ALGORITHM = "HS256"


class TokenError(Exception):
    """The bearer token is missing, malformed, tampered with or expired."""


@dataclass(frozen=True)
class Principal:
    user: str
    role: Role
    # Projects the token is scoped to; empty means every project the user belongs to.
    projects: tuple[str, ...] = field(default_factory=tuple)
    token_id: str = ""

    @property
    def is_curator(self) -> bool:
        """Stewards and admins see every record, withheld ones included."""
        return self.role in {"steward", "admin"}


# Longest lifetimes by role unless configured (MEDSHARE_CATALOG_*TOKEN_MAX_TTL_S).
DEFAULT_MAX_TTL: dict[Role, timedelta] = {
    "researcher": timedelta(days=30),
    "steward": timedelta(days=30),
    "admin": timedelta(days=1),
}
CLOCK_SKEW = timedelta(seconds=60)


def max_ttls(max_ttl_s: int, admin_max_ttl_s: int) -> dict[Role, timedelta]:
    longest = timedelta(seconds=max_ttl_s)
    admin = min(longest, timedelta(seconds=admin_max_ttl_s))
    return {"researcher": longest, "steward": longest, "admin": admin}


def shown(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class TokenIssuer:
    def __init__(self, key: bytes, max_ttl: dict[Role, timedelta] | None = None):
        self.key = key
        self.max_ttl = dict(max_ttl or DEFAULT_MAX_TTL)

    def issue(
        self,
        user: str,
        role: Role,
        projects: tuple[str, ...] = (),
        ttl: timedelta = timedelta(hours=8),
        now: datetime | None = None,
    ) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role; expected one of {', '.join(ROLES)}")
        cap = self.max_ttl[role]
        if ttl > cap:
            raise ValueError(
                f"{role} tokens may live at most {shown(cap)} (asked {shown(ttl)}); "
                "the cap is MEDSHARE_CATALOG_TOKEN_MAX_TTL_S "
                "(MEDSHARE_CATALOG_ADMIN_TOKEN_MAX_TTL_S for admins)"
            )
        issued = now or datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user,
            "role": role,
            "projects": list(projects),
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.InvalidSignatureError:
            raise TokenError("token signature invalid") from None
        except jwt.PyJWTError as error:
            raise TokenError(f"token invalid ({type(error).__name__})") from None
        role = claims.get("role")
        projects = claims.get("projects", [])
        user = claims.get("sub")
        if role not in ROLES:
            raise TokenError("token names no known role")
        if not isinstance(projects, list) or not all(isinstance(p, str) for p in projects):
            raise TokenError("token projects claim malformed")
        if not isinstance(user, str) or not user:
            raise TokenError("token subject malformed")
        token_id = claims.get("jti")
        if not isinstance(token_id, str) or not token_id:
            raise TokenError("token id malformed")
        lifetime = timedelta(seconds=int(claims["exp"]) - int(claims["iat"]))
        if lifetime > self.max_ttl[cast(Role, role)] + CLOCK_SKEW:
            raise TokenError("token lifetime exceeds the cap for its role")
        return Principal(
            user=user,
            role=cast(Role, role),
            projects=tuple(projects),
            token_id=token_id,
        )
