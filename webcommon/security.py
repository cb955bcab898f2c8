"""Sessions and identity: signed HttpOnly SameSite cookies, one policy class."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, Protocol

from pyramid.config import Configurator
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory

from wallet.settings import as_bool, require_secret

from .observability import Handler

SESSION_MAX_AGE_S = 30 * 60  # idle timeout: a wallet should not stay open all day


class Account(Protocol):
    """What the policy needs of an identity (a user, a merchant)."""

    @property
    def id(self) -> int: ...

    @property
    def is_active(self) -> bool: ...


IdentityLoader = Callable[[Request, int], Account | None]


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


class SessionSecurityPolicy:
    """Identity is the active account whose id is in the session.

    ``identity_loader(request, id)`` returns the account or None; the account is
    re-read on every request, so a disabled account loses access at once.
    """

    def __init__(self, identity_loader: IdentityLoader, session_key: str) -> None:
        self.identity_loader = identity_loader
        self.session_key = session_key

    def identity(self, request: Request) -> Account | None:
        cache = attempt_cache(request, "wallet.identity_cache")
        if "identity" not in cache:
            account_id = request.session.get(self.session_key)
            account = None
            if isinstance(account_id, int):
                account = self.identity_loader(request, account_id)
                if account is not None and not account.is_active:
                    account = None
            cache["identity"] = account
        found: Account | None = cache["identity"]
        return found

    def authenticated_userid(self, request: Request) -> int | None:
        identity = self.identity(request)
        return None if identity is None else identity.id

    def permits(self, request: Request, context: Any, permission: str) -> Allowed | Denied:
        if permission == "authenticated" and self.identity(request) is not None:
            return Allowed("logged in")
        return Denied("log in first")

    def remember(self, request: Request, userid: int, **kw: Any) -> list[tuple[str, str]]:
        # A fresh session at log-in: nothing from before survives (no session
        # fixation), and the CSRF token changes too.
        request.session.invalidate()
        request.session[self.session_key] = userid
        request.session["sid"] = secrets.token_urlsafe(16)
        request.session.new_csrf_token()
        request.environ.pop("wallet.identity_cache", None)
        return []

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        request.session.invalidate()
        request.environ.pop("wallet.identity_cache", None)
        return []


def include_sessions(config: Configurator, *, cookie_name: str,
                     identity_loader: IdentityLoader, session_key: str,
                     salt: str = "wallet.user.session",
                     secret_setting: str = "wallet.session_secret",
                     idle_timeout_s: int = SESSION_MAX_AGE_S) -> None:
    settings = config.get_settings()
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
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True)
    config.set_security_policy(SessionSecurityPolicy(identity_loader, session_key))
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
