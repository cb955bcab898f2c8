"""Who is calling: a bearer credential (``Authorization: Bearer …``) looked up
in the database on every request, so one revoked anywhere is refused
everywhere at once. Two kinds, never interchangeable:

- a user's token (``wlt_…``, wallet.identity.api_tokens): the phone app's endpoints,
  permission ``user``;
- a shop's secret key (``sk_live_…``, wallet.merchants.keys): the merchant
  endpoints (payment requests, refunds), permission ``merchant``.

``request.identity`` is the User or the Merchant. A valid credential of the
other kind is refused like a missing one (401), with its own problem code
``wrong_credential_type`` (api_app.errors)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyramid.request import Request
from pyramid.security import Allowed, Denied

from wallet.core.codes import is_request_key
from wallet.core.models import IdempotencyRecord, Merchant, User
from wallet.identity.api_tokens import ApiTokens
from wallet.identity.models import ApiToken
from wallet.merchants.keys import MerchantKeys, looks_like_key
from wallet.merchants.models import MerchantApiKey
from webcommon import request_services
from webcommon.security import attempt_cache

from .settings import api_settings

_CACHE = "api.identity"
USER, MERCHANT = "user", "merchant"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def tokens(request: Request, *, idempotency_key: str | None = None) -> ApiTokens:
    settings = api_settings(request)
    return request_services(request).api_tokens(ttl_s=settings.token_ttl_s,
                                                idle_s=settings.token_idle_s,
                                                idempotency_key=idempotency_key)


def merchant_keys(request: Request) -> MerchantKeys:
    return request_services(request).merchant_keys


@dataclass(frozen=True)
class Caller:
    """A request's live credential and whose it is: a user's token or a shop's key."""

    kind: str  # USER or MERCHANT
    user: User | None = None
    token: ApiToken | None = None
    merchant: Merchant | None = None
    key: MerchantApiKey | None = None
    #: A user's POST with a well-formed ``Idempotency-Key``: that key, and the
    #: user's answer stored for it (None: none), read with the token.
    idempotency_key: str | None = None
    stored: IdempotencyRecord | None = None

    @property
    def identity(self) -> User | Merchant | None:
        return self.user if self.kind == USER else self.merchant


class BearerTokenPolicy:
    def caller(self, request: Request) -> Caller | None:
        cache = attempt_cache(request, _CACHE)
        if "caller" not in cache:
            credential = bearer_token(request)
            found: Caller | None = None
            if looks_like_key(credential):
                shop = merchant_keys(request).authenticate(credential)
                if shop is not None:
                    found = Caller(MERCHANT, key=shop[0], merchant=shop[1])
            else:
                found = _user_caller(request, credential)
            cache["caller"] = found
        caller: Caller | None = cache["caller"]
        return caller

    def authenticated(self, request: Request) -> tuple[ApiToken, User] | None:
        """The user's live token and the user (None for a shop's key)."""
        caller = self.caller(request)
        if caller is None or caller.token is None or caller.user is None:
            return None
        return caller.token, caller.user

    def identity(self, request: Request) -> User | Merchant | None:
        caller = self.caller(request)
        return None if caller is None else caller.identity

    def authenticated_userid(self, request: Request) -> str | None:
        """``user:5`` or ``merchant:3``: the two kinds never share an id."""
        caller = self.caller(request)
        identity = None if caller is None else caller.identity
        return None if caller is None or identity is None else f"{caller.kind}:{identity.id}"

    def permits(self, request: Request, context: Any, permission: str) -> Allowed | Denied:
        if permission == "public":
            return Allowed("open to all")
        caller = self.caller(request)
        if caller is not None and permission == caller.kind:
            return Allowed(f"a live {caller.kind} credential")
        # A shop's key is its server, not a person: every merchant permission
        # (wallet.merchants.roles) of its shop; a person's role is the merchant app's.
        if caller is not None and caller.kind == MERCHANT and permission.startswith("merchant:"):
            return Allowed("a live shop key")
        return Denied(f"needs a live {permission} credential")

    def remember(self, request: Request, userid: Any, **kw: Any) -> list[Any]:
        return []

    def forget(self, request: Request, **kw: Any) -> list[Any]:
        return []


def _user_caller(request: Request, credential: str | None) -> Caller | None:
    """A user's token; for a POST with an ``Idempotency-Key``, the answer
    stored for that key too, in the same query (api_app.money needs it before
    a PIN is compared)."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None or not is_request_key(key):
        key = None
    lookup = tokens(request, idempotency_key=key)
    found = lookup.authenticate(credential)
    if found is None:
        return None
    return Caller(USER, token=found[0], user=found[1], idempotency_key=key,
                  stored=lookup.stored)


def policy(request: Request) -> BearerTokenPolicy:
    found: BearerTokenPolicy = request.registry["api.security_policy"]
    return found


def current_caller(request: Request) -> Caller | None:
    return policy(request).caller(request)


def current_token(request: Request) -> ApiToken | None:
    authenticated = policy(request).authenticated(request)
    return None if authenticated is None else authenticated[0]
