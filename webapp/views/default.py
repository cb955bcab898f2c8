from __future__ import annotations

import importlib.resources
from typing import Any

from pyramid.csrf import get_csrf_token
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import FileResponse, Response

from webcommon.views import forbidden_view_config, notfound_view_config, view_config


@view_config(route_name="home")
def home(request: Request) -> Response:
    target = "dashboard" if request.identity is not None else "login"
    landing = request.registry.get("landing")  # an app's own (the merchant app: by role)
    if landing is not None and request.identity is not None:
        return HTTPSeeOther(landing(request))
    return HTTPSeeOther(request.route_url(target))


FAVICON = str(importlib.resources.files("webapp") / "static" / "favicon.svg")


@view_config(route_name="favicon")
def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page says: answer, not 404."""
    return FileResponse(FAVICON, request=request, content_type="image/svg+xml",
                        cache_max_age=86400)


@notfound_view_config(renderer="error.jinja2")
def notfound(request: Request) -> dict[str, str]:
    request.response.status = 404
    return {"title": "Page not found", "message": "There is nothing here."}


@forbidden_view_config(renderer="error.jinja2")
def forbidden(request: Request) -> dict[str, Any] | Response:
    if request.identity is None:
        if request.method == "GET":
            return HTTPSeeOther(request.route_url("login", _query={"next": request.path_qs}))
        return HTTPSeeOther(request.route_url("login"))
    request.response.status = 403
    return {"title": "Not allowed", "message": "You cannot open this page."}


@view_config(context=BadCSRFToken, renderer="error.jinja2")
def bad_csrf(request: Request) -> dict[str, str]:
    request.response.status = 400
    get_csrf_token(request)  # make sure the next form has a token
    return {
        "title": "Please try again",
        "message": "This form expired or did not come from this site, so nothing was done. "
        "Go back, reload the page and submit it again.",
    }
