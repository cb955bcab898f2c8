"""Merchant app: the counter page (a phone or a cheap tablet by the till),
which shows and says aloud each payment to its store the moment it is
committed, with today's count and total. The payments come from the
announcer process (announcer_app) as Server-Sent Events; this page hands
the browser a short-lived signed token for its stream
(wallet.merchants.counter.CounterTokens) and a new one when it reconnects.

Settings (the merchant app's section): ``wallet.counter_token_secret``
(shared with the announcer; production refuses to start without a strong
one), ``announcer.stream_url`` (the announcer's ``/stream``, e.g.
``http://127.0.0.1:6549/stream``). Included by webapp.merchant."""
from __future__ import annotations

import urllib.parse
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request

from wallet.core.codes import IST
from wallet.core.ini import ConfigurationError
from wallet.core.models import Merchant, MerchantStore
from wallet.settings import WalletSettings
from webcommon import request_services
from webcommon.headers import CONTENT_SECURITY_POLICY
from webcommon.security import store_scope
from webcommon.views import view_config

STREAM_URL = "announcer.stream_url"


def includeme(config: Configurator) -> None:
    settings: WalletSettings = config.registry["wallet_settings"]
    if settings.production and not (settings.counter_token_secret
                                    and settings.raw.get(STREAM_URL)):
        raise ConfigurationError("the counter page needs wallet.counter_token_secret and "
                                 f"{STREAM_URL} in production")
    config.add_route("counter", "/counter")
    config.add_route("counter_token", "/counter/token")
    config.scan(__name__)


def _stream_url(request: Request) -> str | None:
    url = str(request_services(request).settings.raw.get(STREAM_URL) or "").strip()
    return url or None


def _stores(request: Request, merchant: Merchant) -> list[MerchantStore]:
    """The shop's open stores the signed-in person may watch: a cashier's or a
    manager's own only (webcommon.security.store_scope), the owner's all."""
    scope = store_scope(request)
    return [store for store in request_services(request).counter_feed.stores(merchant.id)
            if scope is None or store.id in scope]


def _store(request: Request, stores: list[MerchantStore]) -> MerchantStore:
    """The store asked for (``?store=<id>``), else the first; another shop's
    or an unknown one is a 404."""
    wanted = str(request.params.get("store", "")).strip()
    if not wanted:
        return stores[0]
    for store in stores:
        if str(store.id) == wanted:
            return store
    raise HTTPNotFound()


def _policy(stream_url: str) -> str:
    """The page's Content-Security-Policy: the announcer's origin may be
    connected to (it may be on another port or host)."""
    parts = urllib.parse.urlsplit(stream_url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return CONTENT_SECURITY_POLICY.replace("connect-src 'self'",
                                           f"connect-src 'self' {origin}".rstrip())


@view_config(route_name="counter", renderer="merchant/counter.jinja2",
             permission="merchant:counter", request_method="GET")
def counter(request: Request) -> dict[str, Any]:
    merchant: Merchant = request.identity
    services = request_services(request)
    stores = _stores(request, merchant)
    stream_url = _stream_url(request)
    if not stores or stream_url is None or services.settings.counter_token_secret is None:
        request.response.status = 503
        return {"ready": False, "stores": stores}
    store = _store(request, stores)
    token, expires_at = services.counter_tokens.issue(merchant.id, store.id)
    request.response.headers["Content-Security-Policy"] = _policy(stream_url)
    return {"ready": True, "stores": stores, "store": store, "token": token,
            "stream_url": stream_url, "today": services.clock().astimezone(IST).date(),
            "token_url": request.route_url("counter_token", _query={"store": store.id})}


@view_config(route_name="counter_token", renderer="json",
             permission="merchant:counter", request_method="GET")
def counter_token(request: Request) -> dict[str, Any]:
    """A new stream token for the page to reconnect with (JSON)."""
    merchant: Merchant = request.identity
    services = request_services(request)
    stores = _stores(request, merchant)
    if not stores or services.settings.counter_token_secret is None:
        raise HTTPNotFound()
    store = _store(request, stores)
    token, expires_at = services.counter_tokens.issue(merchant.id, store.id)
    request.response.headers["Cache-Control"] = "no-store"
    return {"token": token, "store_id": store.id, "expires_at": expires_at.isoformat()}
