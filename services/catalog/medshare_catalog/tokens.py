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


class TokenIssuer:
    def __init__(self, key: bytes):
        self.key = key

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
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
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
        return Principal(
            user=user,
            role=cast(Role, role),
            projects=tuple(projects),
            token_id=str(claims.get("jti", "")),
        )
