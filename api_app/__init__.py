"""The JSON API app ([app:api]): the phone app's versioned API (``/v1/``), over
the same domain as the pages. The OpenAPI document (api_app/openapi.yaml)
validates every request and, unless turned off, every answer, so it cannot
drift from the code; it is served at /v1/openapi.json, browsable at /docs."""
from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import yaml
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import FileResponse, Response
from pyramid.router import Router

from wallet.settings import resolve_settings
from webcommon import use_task_queue

from .errors import add_validation_views
from .problems import MEDIA_TYPE
from .ratelimit import MemoryCounter, RateLimiter, RedisCounter
from .security import BearerTokenPolicy
from .settings import ApiSettings

SPEC_PATH = Path(str(importlib.resources.files("api_app") / "openapi.yaml"))
DOCS_PAGE = Path(str(importlib.resources.files("api_app") / "static" / "docs.html"))


def make_rate_limiter(settings: ApiSettings) -> RateLimiter:
    counter = (RedisCounter(settings.rate_limit_redis_url)
               if settings.rate_limit_backend == "redis" else MemoryCounter())
    return RateLimiter(counter, settings.money_requests_per_minute_per_token,
                       settings.money_requests_per_minute_per_ip,
                       settings.money_requests_per_minute_per_merchant)


def main(global_config: dict[str, Any] | None, **settings: Any) -> Router:
    settings = resolve_settings(global_config, settings)
    api = ApiSettings.from_dict(settings)
    settings["pyramid_openapi3.enable_response_validation"] = api.validate_responses
    with Configurator(settings=settings) as config:
        config.include("webcommon")
        use_task_queue(config)
        config.registry["api_settings"] = api
        config.registry["api.rate_limiter"] = make_rate_limiter(api)
        policy = BearerTokenPolicy()
        config.registry["api.security_policy"] = policy
        config.set_security_policy(policy)
        config.include("pyramid_openapi3")
        config.include(".readable")
        # Problems are JSON too (RFC 9457's media type): read them as such.
        config.pyramid_openapi3_add_deserializer(MEDIA_TYPE, json.loads)
        config.pyramid_openapi3_spec(str(SPEC_PATH), route="/v1/openapi.yaml",
                                     route_name="openapi_yaml")
        config.include(".routes")
        config.include(".errors")
        add_validation_views(config)
        config.add_view(openapi_json, route_name="openapi_json", permission="public")
        config.add_view(docs, route_name="docs", permission="public")
        config.scan(".views")
    return config.make_wsgi_app()


_SPEC_JSON: bytes | None = None


def openapi_json(request: Request) -> Response:
    global _SPEC_JSON
    if _SPEC_JSON is None:  # the same document, as JSON
        _SPEC_JSON = json.dumps(yaml.safe_load(SPEC_PATH.read_text())).encode()
    return Response(body=_SPEC_JSON, content_type="application/json", charset="utf-8")


def docs(request: Request) -> Response:
    return FileResponse(str(DOCS_PAGE), request=request, content_type="text/html")
