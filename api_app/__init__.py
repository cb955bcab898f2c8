"""The JSON API app ([app:api]): the phone app's and shops' servers' versioned
API (``/v1/``), over the same domain as the pages. The OpenAPI document
(api_app/openapi.yaml) checks every request and, unless turned off, every
answer (api_app/validation.py), so it cannot drift from the code; it is
served at /v1/openapi.json, browsable at /docs."""
from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import yaml
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.response import FileResponse, Response
from pyramid.router import Router

from wallet.settings import resolve_settings
from webcommon import use_pins, use_task_queue
from webcommon.headers import DOCS_CONTENT_SECURITY_POLICY
from webcommon.receipt_keys import include_receipt_keys
from webcommon.unavailable import json_unavailable

from .contract import Contract
from .ratelimit import MemoryCounter, RateLimiter, RedisCounter
from .routes import API_ROUTES
from .security import BearerTokenPolicy
from .settings import ApiSettings
from .validation import add_method_fallbacks

SPEC_PATH = Path(str(importlib.resources.files("api_app") / "openapi.yaml"))
DOCS_PAGE = Path(str(importlib.resources.files("api_app") / "static" / "docs.html"))


def make_rate_limiter(settings: ApiSettings) -> RateLimiter:
    counter = (RedisCounter(settings.rate_limit_redis_url)
               if settings.rate_limit_backend == "redis" else MemoryCounter())
    return RateLimiter(counter, settings.money_requests_per_minute_per_token,
                       settings.money_requests_per_minute_per_ip,
                       settings.money_requests_per_minute_per_merchant,
                       settings.money_requests_per_minute_per_user)


def main(global_config: dict[str, Any] | None, **settings: Any) -> Router:
    settings = resolve_settings(global_config, settings)
    api = ApiSettings.from_dict(settings)
    with Configurator(settings=settings) as config:
        config.include("webcommon")
        config.include("webcommon.metrics")
        use_pins(config)
        config.registry["unavailable_response"] = json_unavailable
        use_task_queue(config)
        config.registry["api_settings"] = api
        config.registry["api.rate_limiter"] = make_rate_limiter(api)
        policy = BearerTokenPolicy()
        config.registry["api.security_policy"] = policy
        config.set_security_policy(policy)
        config.registry["api.contract"] = contract = load_contract()
        config.registry["api.document_json"] = json.dumps(contract.document).encode()
        config.include(".readable")
        config.include(".validation")
        config.include(".routes")
        config.include(".errors")
        config.include(".money")  # (a twin's answer: ReplayInstead)
        add_method_fallbacks(config, API_ROUTES)
        config.add_view(openapi_json, route_name="openapi_json", permission="public")
        config.add_view(docs, route_name="docs", permission="public")
        include_receipt_keys(config, permission="public")  # the receipts' public keys
        config.scan(".views")
    return config.make_wsgi_app()


def load_contract() -> Contract:
    """The document, compiled; every documented path must be a route and every
    route of ours a documented path."""
    document = yaml.safe_load(SPEC_PATH.read_text())
    documented, routed = set(document["paths"]), set(API_ROUTES.values())
    if documented != routed:
        raise ConfigurationError(f"routes and the OpenAPI document differ: only documented "
                                 f"{sorted(documented - routed)}, only routed "
                                 f"{sorted(routed - documented)}")
    return Contract(document)


def openapi_json(request: Request) -> Response:
    """The same document, as JSON (serialised once, at start-up)."""
    return Response(body=request.registry["api.document_json"],
                    content_type="application/json", charset="utf-8")


def docs(request: Request) -> Response:
    response = FileResponse(str(DOCS_PAGE), request=request, content_type="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return response
