"""Every request gets an id (the caller's ``X-Request-Id`` when it is sane,
else a new one), returned in the response header and put on every log line
written while handling it (wallet.core.observability)."""
from __future__ import annotations

from collections.abc import Callable

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.observability import new_request_id, request_id_var

Handler = Callable[[Request], Response]


def request_id_tween_factory(handler: Handler, registry: Registry) -> Handler:
    def tween(request: Request) -> Response:
        request_id = new_request_id(request.headers.get("X-Request-Id"))
        token = request_id_var.set(request_id)
        try:
            response = handler(request)
            response.headers["X-Request-Id"] = request_id
            return response
        finally:
            request_id_var.reset(token)

    return tween


def includeme(config: Configurator) -> None:
    config.add_tween("webcommon.observability.request_id_tween_factory")
