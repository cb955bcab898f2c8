"""Sessions and identity: signed HttpOnly SameSite cookies carrying a token of
a server-side session record (wallet.identity.web_sessions), one policy class.

The cookie alone proves nothing: every request looks its token up (one
indexed read, joined with the account it belongs to), so a session ended on
the server -- signed out, signed out from elsewhere, ended by a password
change, past its absolute lifetime -- is refused whatever copy of the cookie
is presented."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyramid.config import Configurator
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory

from wallet.core.models import Merchant, MerchantStaff
from wallet.identity.models import WebSession
from wallet.identity.web_sessions import EndReason, Principal, SessionPolicy, WebSessions
from wallet.merchants.roles import Role
from wallet.merchants.staff import ShopActor
from wallet.settings import ConfigurationError, as_bool, require_secret

from . import request_services
from .observability import Handler

SESSION_MAX_AGE_S = 30 * 60  # idle timeout: a wallet should not stay open all day
#: The absolute lifetime of a user's or a shop's session, from sign-in.
DEFAULT_LIFETIME_S = 12 * 3600
MAX_LIFETIME_S = 7 * 24 * 3600
#: The cookie session's key for the server session's token.
TOKEN_KEY = "session_token"
#: The cookie session's key for the kind of principal signed in, where an app
#: takes more than one (the merchant app: the shop's own login, or a person of it).
KIND_KEY = "session_kind"
_IDENTITY_CACHE = "wallet.identity_cache"


def attempt_cache(request: Request, name: str) -> dict[str, Any]:
    """A per-request cache that a retried request (pyramid_retry builds each
    attempt from the same environ, WebOb keeps ad-hoc attributes there too)
    starts afresh: who is calling is looked up again in the new attempt's
    session, never reused from a rolled-back one."""
    attempt = request.environ.get("retry.attempt", 0)
    cache: dict[str, Any] = request.environ.get(name, {})
    if cache.get("attempt") != attempt:
        cache = request.environ[name] = {"attempt": attempt}
    return cache


@dataclass(frozen=True)
class SessionSettings:
    kind: str  # wallet.identity.web_sessions.PrincipalKind
    policy: SessionPolicy


def web_sessions(request: Request) -> WebSessions:
    settings: SessionSettings = request.registry["web_sessions"]
    return request_services(request).web_sessions(settings.policy)


class SessionSecurityPolicy:
    """Identity is the active account whose live server session the cookie
    names (wallet.identity.web_sessions); both are read again on every request, so a
    disabled account or an ended session loses access at once."""

    def __init__(self, kind: str, other_kinds: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.kinds = (kind, *other_kinds)

    def session_kind(self, request: Request) -> str:
        """The kind of principal the cookie's session is of (the app's own by default)."""
        kind = request.session.get(KIND_KEY)
        return kind if isinstance(kind, str) and kind in self.kinds else self.kind

    def _lookup(self, request: Request) -> dict[str, Any]:
        cache = attempt_cache(request, _IDENTITY_CACHE)
        if "identity" not in cache:
            live = web_sessions(request).authenticate(self.session_kind(request),
                                                      request.session.get(TOKEN_KEY))
            principal = None if live is None else live.principal
            cache["session"] = None if live is None else live.record
            cache["principal"] = principal
            # A person of a shop acts on the shop: the pages' identity is the
            # shop in both cases, what they may do is the actor's role.
            cache["identity"] = principal.merchant if isinstance(principal, MerchantStaff) \
                else principal
            cache["actor"] = (ShopActor.of_staff(principal) if isinstance(principal, MerchantStaff)
                              else ShopActor.shop_login(principal)
                              if isinstance(principal, Merchant) else None)
        return cache

    def principal(self, request: Request) -> Principal | None:
        """Who signed in (a person of a shop, where the identity is their shop)."""
        found: Principal | None = self._lookup(request)["principal"]
        return found

    def actor(self, request: Request) -> ShopActor | None:
        found: ShopActor | None = self._lookup(request)["actor"]
        return found

    def identity(self, request: Request) -> Principal | None:
        found: Principal | None = self._lookup(request)["identity"]
        return found

    def session(self, request: Request) -> WebSession | None:
        found: WebSession | None = self._lookup(request)["session"]
        return found

    def authenticated_userid(self, request: Request) -> int | None:
        identity = self.identity(request)
        return None if identity is None else identity.id

    def permits(self, request: Request, context: Any, permission: str) -> Allowed | Denied:
        if permission == "authenticated" and self.identity(request) is not None:
            return Allowed("logged in")
        # The merchant app's pages: what the role of the shop's person (its
        # own login: an owner) permits (wallet.merchants.roles).
        if permission.startswith("merchant:"):
            actor = self.actor(request)
            if actor is None:
                return Denied("log in first")
            if actor.may(permission):
                return Allowed(f"a shop's {actor.role}")
            return Denied(f"a shop's {actor.role} may not ({permission})")
        return Denied("log in first")

    def remember(self, request: Request, userid: int, **kw: Any) -> list[tuple[str, str]]:
        # A fresh session at log-in: the browser's previous one ends on the
        # server, nothing from before survives (no session fixation), and
        # the CSRF token changes too. ``kind=``: another kind this app takes.
        kind = kw.get("kind") or self.kind
        if kind not in self.kinds:
            raise ValueError(f"this app signs in no {kind!r}")
        sessions = web_sessions(request)
        sessions.end(self.session_kind(request), request.session.get(TOKEN_KEY),
                     EndReason.SIGNED_IN_AGAIN)
        request.session.invalidate()
        started = sessions.start(kind, userid, user_agent=request.user_agent or "",
                                 ip=request.remote_addr or "")
        request.session[TOKEN_KEY] = started.token
        if kind != self.kind:
            request.session[KIND_KEY] = kind
        request.session.new_csrf_token()
        request.environ.pop(_IDENTITY_CACHE, None)
        return []

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        # Ended on the server: a copy of this cookie is refused from now on.
        web_sessions(request).end(self.session_kind(request), request.session.get(TOKEN_KEY),
                                  EndReason.SIGNED_OUT)
        request.session.invalidate()
        request.environ.pop(_IDENTITY_CACHE, None)
        return []


def current_session(request: Request) -> WebSession | None:
    """The server record of the request's live session (None: signed out)."""
    policy: SessionSecurityPolicy = request.registry["web_session_policy"]
    return policy.session(request)


def end_other_sessions(request: Request) -> int:
    """Sign out everywhere else: every other session of the signed-in account
    ends (a user's API tokens too); this one lives on. How many ended."""
    current = current_session(request)
    if current is None:
        return 0
    return web_sessions(request).end_others(current.principal_kind, current.principal_id,
                                            EndReason.ENDED_ELSEWHERE,
                                            keep_session_id=current.id)


def other_sessions_count(request: Request) -> int:
    """How many other live sessions the signed-in account has (its page says)."""
    current = current_session(request)
    if current is None:
        return 0
    return web_sessions(request).count_others(current.principal_kind, current.principal_id,
                                              current.id)


def current_session_id(request: Request) -> int | None:
    current = current_session(request)
    return None if current is None else current.id


def lifetime_setting(settings: Mapping[str, Any], key: str, default: int, idle_s: int) -> int:
    """A session's absolute lifetime in seconds from ``key``: longer than the
    idle timeout, at most a week."""
    text = str(settings.get(key) or "").strip()
    try:
        value = int(text) if text else default
    except ValueError:
        raise ConfigurationError(f"setting {key} = {text!r} is not a whole number") from None
    if not idle_s < value <= MAX_LIFETIME_S:
        raise ConfigurationError(f"setting {key} is between {idle_s + 1} (the idle timeout) "
                                 f"and {MAX_LIFETIME_S} seconds")
    return value


def include_sessions(config: Configurator, *, cookie_name: str, kind: str,
                     salt: str = "wallet.user.session",
                     secret_setting: str = "wallet.session_secret",
                     idle_timeout_s: int = SESSION_MAX_AGE_S,
                     lifetime_s: int | None = None,
                     other_kinds: tuple[str, ...] = ()) -> None:
    """Cookie sessions of principals of ``kind`` backed by server records,
    CSRF on every unsafe request. ``lifetime_s``: the absolute lifetime (by
    default ``wallet.session_lifetime_s``, 12 hours). ``other_kinds``: more
    kinds that sign in here (``remember(..., kind=...)``)."""
    settings = config.get_settings()
    if lifetime_s is None:
        lifetime_s = lifetime_setting(settings, "wallet.session_lifetime_s",
                                      DEFAULT_LIFETIME_S, idle_timeout_s)
    secret = require_secret(settings, secret_setting)
    config.set_session_factory(
        SignedCookieSessionFactory(
            secret,
            salt=salt,  # per app: a user app cookie never verifies in the merchant app
            cookie_name=cookie_name,
            httponly=True,
            samesite="Lax",
            secure=as_bool(settings.get("wallet.secure_cookies", "false")),
            max_age=None,  # a browser-session cookie...
            timeout=idle_timeout_s,  # ...that also expires when idle
            reissue_time=60,
        )
    )
    config.registry["web_sessions"] = SessionSettings(
        kind, SessionPolicy(lifetime_s=lifetime_s, idle_s=idle_timeout_s))
    policy = SessionSecurityPolicy(kind, other_kinds)
    config.registry["web_session_policy"] = policy
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True)
    config.set_security_policy(policy)
    # (Under webcommon.readable: it reads the path of requests that can be read.)
    config.add_tween("webcommon.security.no_store_tween_factory",
                     under="webcommon.readable.refuse_unreadable_tween_factory")


def no_store_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """A signed-in page (balances, payments, a secret shown once) is kept by
    no cache, shared or the browser's own; static files may be."""

    def tween(request: Request) -> Response:
        response = handler(request)
        if (not request.path_info.startswith("/static/")
                and "Cache-Control" not in response.headers):
            response.headers["Cache-Control"] = "no-store"
        return response

    return tween


# ----------------------------------------------------------- a shop's people


def shop_actor(request: Request) -> ShopActor | None:
    """Who of the shop is acting (the merchant app): its own login or a
    person of it, with their role and stores; None when signed out."""
    policy: SessionSecurityPolicy = request.registry["web_session_policy"]
    return policy.actor(request)


def signed_in_staff(request: Request) -> MerchantStaff | None:
    """The person of a shop signed in (None: the shop's own login, or nobody)."""
    policy: SessionSecurityPolicy = request.registry["web_session_policy"]
    principal = policy.principal(request)
    return principal if isinstance(principal, MerchantStaff) else None


def store_scope(request: Request) -> frozenset[int] | None:
    """The stores whose payments the signed-in person may see: None, every
    store (an owner); else their stores' ids (a manager's, a cashier's)."""
    actor = shop_actor(request)
    return frozenset() if actor is None else actor.store_ids


def today_only(request: Request) -> bool:
    """A cashier sees today's payments only (its store's, live at the counter)."""
    actor = shop_actor(request)
    return actor is not None and actor.role == Role.CASHIER
