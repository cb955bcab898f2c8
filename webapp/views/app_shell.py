"""The installable app: its web app manifest, its service worker (served at
the root, so its scope is the whole app) and the offline pages the service
worker shows when a page cannot be loaded. The worker keeps only the offline
pages, the stylesheet and the icons: never a page of a signed-in user, never
an answer (webapp/static/sw.js)."""
from __future__ import annotations

import importlib.resources
from typing import Any

from pyramid.request import Request
from pyramid.response import FileResponse, Response

from webcommon.views import view_config

STATIC = importlib.resources.files("webapp") / "static"
MANIFEST = str(STATIC / "manifest.webmanifest")
SERVICE_WORKER = str(STATIC / "sw.js")


@view_config(route_name="manifest", request_method="GET")
def manifest(request: Request) -> Response:
    return FileResponse(MANIFEST, request=request, content_type="application/manifest+json",
                        cache_max_age=3600)


@view_config(route_name="service_worker", request_method="GET")
def service_worker(request: Request) -> Response:
    response = FileResponse(SERVICE_WORKER, request=request, content_type="text/javascript")
    response.charset = "utf-8"
    # The browser checks for a new worker on every visit; scope: the whole app.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = request.route_path("home")
    return response


@view_config(route_name="offline", request_method="GET", renderer="offline.jinja2")
def offline(request: Request) -> dict[str, Any]:
    """What a page that could not be loaded shows: nothing was sent."""
    return {"form": False}


@view_config(route_name="offline_form", request_method="GET", renderer="offline.jinja2")
def offline_form(request: Request) -> dict[str, Any]:
    """What a form that could not be sent shows: the network failed on the
    way, so whether it arrived cannot be known here; the history tells."""
    return {"form": True}
