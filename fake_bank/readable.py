"""Requests the fake bank cannot read (a path, query or form that is not
UTF-8): 404/400, never a 500 with a traceback. The wallet's apps have their
own check (webcommon.readable); the fake bank shares no code with them."""
from __future__ import annotations

from collections.abc import Callable

from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

Handler = Callable[[Request], Response]


def refuse_unreadable_tween_factory(handler: Handler, registry: Registry) -> Handler:
    def tween(request: Request) -> Response:
        try:
            request.path_info  # noqa: B018 (WebOb decodes it as UTF-8)
        except UnicodeDecodeError:
            return Response("No such page.", status=404, content_type="text/plain")
        try:
            request.GET  # noqa: B018
            request.POST  # noqa: B018
        except (UnicodeDecodeError, ValueError, LookupError, DeprecationWarning):
            # (WebOb raises DeprecationWarning for a form in a charset but UTF-8)
            return Response("Unreadable request.", status=400, content_type="text/plain")
        return handler(request)

    return tween
