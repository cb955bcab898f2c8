"""Prometheus metrics for a Pyramid app of the wallet, with one line:
``config.include("webcommon.metrics")`` (after ``config.include("webcommon")``).

- ``GET /metrics``: the Prometheus text format, to addresses of
  ``metrics.allowed_networks`` only (internal networks by default), 404 to others;
- a tween counting every request by app, route *pattern* (never the raw path:
  bounded cardinality), method and status, with a latency histogram;
- (the domain's hooks feed this process's counters through the observer
  webcommon hands to the app's session factory: ``registry["observer"]``);
- gauges read from the database at scrape time (queues, ledger verification),
  unless ``metrics.database_gauges = false``.

The app label is ``metrics.app_name``, else the package whose ``main()`` made
the app (``webapp``, ``webapp.merchant``, ``api_app``, ``webhook_app``,
``admin_app``...). See docs/operations.md.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from wallet.settings import as_bool
from wallet_metrics import CONTENT_TYPE, DatabaseCollector, exposition
from wallet_metrics.access import MetricsAccess
from wallet_metrics.instruments import HTTP_LATENCY, HTTP_REQUESTS

Handler = Callable[[Request], Response]
UNMATCHED = "(unmatched)"


def metrics_tween_factory(handler: Handler, registry: Registry) -> Handler:
    app: str = registry["metrics.app"]

    def tween(request: Request) -> Response:
        started, status = time.perf_counter(), 500
        try:
            response = handler(request)
            status = response.status_int
            return response
        finally:
            route = request.matched_route.pattern if request.matched_route else UNMATCHED
            method = request.method if request.method in KNOWN_METHODS else "OTHER"
            HTTP_REQUESTS.labels(app, route, method, str(status)).inc()
            HTTP_LATENCY.labels(app, route, method).observe(time.perf_counter() - started)

    return tween


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def metrics_view(request: Request) -> Response:
    access: MetricsAccess = request.registry["metrics.access"]
    if not access.allows(request.remote_addr):
        raise HTTPNotFound()
    collectors = []
    if request.registry["metrics.database_gauges"]:
        # Read in the request's own session (and transaction), never a second one.
        collectors.append(DatabaseCollector(lambda: nullcontext(request.dbsession)))
    body = exposition(collectors)
    response = Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["Cache-Control"] = "no-store"
    return response


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    # The registry is named after the package whose main() made the Configurator.
    config.registry["metrics.app"] = str(settings.get("metrics.app_name")
                                         or config.registry.__name__)
    config.registry["metrics.access"] = MetricsAccess.from_settings(settings)
    config.registry["metrics.database_gauges"] = as_bool(
        str(settings.get("metrics.database_gauges", "true")))
    config.add_tween("webcommon.metrics.metrics_tween_factory")
    config.add_route("metrics", "/metrics")
    config.add_view(metrics_view, route_name="metrics", request_method="GET",
                    require_csrf=False, permission=NO_PERMISSION_REQUIRED)
