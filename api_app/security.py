"""Who is calling: a bearer token (``Authorization: Bearer wlt_…``) looked up
in the database on every request (wallet.api_tokens), so a token revoked
anywhere is refused everywhere at once."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.security import Allowed, Denied

from wallet.api_tokens import ApiTokens
from wallet.models import ApiToken, User

from .settings import api_settings

_CACHE = "api.identity"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def tokens(request: Request) -> ApiTokens:
    settings = api_settings(request)
    return ApiTokens(request.dbsession, ttl_s=settings.token_ttl_s,
                     idle_s=settings.token_idle_s)


class BearerTokenPolicy:
    def authenticated(self, request: Request) -> tuple[ApiToken, User] | None:
        if _CACHE not in request.environ:
            request.environ[_CACHE] = tokens(request).authenticate(bearer_token(request))
        found: tuple[ApiToken, User] | None = request.environ[_CACHE]
        return found

    def identity(self, request: Request) -> User | None:
        found = self.authenticated(request)
        return None if found is None else found[1]

    def authenticated_userid(self, request: Request) -> int | None:
        user = self.identity(request)
        return None if user is None else user.id

    def permits(self, request: Request, context: Any, permission: str) -> Allowed | Denied:
        if permission == "public":
            return Allowed("open to all")
        if permission == "user" and self.identity(request) is not None:
            return Allowed("a live token")
        return Denied("no live token")

    def remember(self, request: Request, userid: Any, **kw: Any) -> list[Any]:
        return []

    def forget(self, request: Request, **kw: Any) -> list[Any]:
        return []


def current_token(request: Request) -> ApiToken | None:
    policy: BearerTokenPolicy = request.registry["api.security_policy"]
    authenticated = policy.authenticated(request)
    return None if authenticated is None else authenticated[0]
