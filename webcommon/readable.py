"""What every app can read at all, checked before anything else looks at a
request: a path and a query string that are UTF-8, a form WebOb can parse,
and no NUL character in any of them. Anything else is answered here, once for
every app: an unreadable path is a 404 (no page has such an address), the rest
a 400. Unchecked, it was a 500 with a traceback wherever a tween, the router or
a view first asked WebOb for ``request.path_info`` or ``request.params``.

NUL is refused too: it is never legitimate input, and PostgreSQL refuses it in
any text parameter (a 500 deep inside a query). Other control characters are
left to the forms and the domain, whose rules refuse them where they matter.

An app answering in another format sets ``registry["unreadable_response"]``
(the API: problem+json; the webhook app: :func:`json_unreadable`); the
default is a short plain-text answer.
"""
from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from .observability import Handler

#: (request, status, what is wrong) -> the answer.
UnreadableResponse = Callable[[Request, int, str], Response]
FORM_TYPE = "application/x-www-form-urlencoded"


def unreadable(request: Request) -> tuple[int, str] | None:
    """(status, why) if ``request`` cannot be read as text, else None."""
    try:
        path = request.path_info  # (WebOb decodes it as UTF-8)
    except UnicodeDecodeError:
        return 404, "There is nothing at this address."
    if "\x00" in path:
        return 400, "NUL characters are not allowed in addresses."
    try:
        query = request.GET
    except UnicodeDecodeError:
        return 400, "The query string is not valid UTF-8."
    if has_nul(query.items()):
        return 400, "NUL characters are not allowed in the query string."
    return unreadable_form(request)


def unreadable_form(request: Request) -> tuple[int, str] | None:
    """A form body: URL-encoded ones must decode as UTF-8 (WebOb would quietly
    put U+FFFD in place of bad bytes); any form WebOb can parse at all."""
    try:
        if request.content_type == FORM_TYPE:
            # (parse_qsl takes str: a body that is not even ASCII is refused alike)
            urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True,
                                   encoding="utf-8", errors="strict")
        form = request.POST
    except UnicodeDecodeError:
        return 400, "The form is not valid UTF-8."
    except (ValueError, LookupError, DeprecationWarning):
        # A multipart body without a boundary; WebOb refuses any charset but
        # UTF-8 with a DeprecationWarning (an exception, raised).
        return 400, "The form could not be read."
    if has_nul(form.items()):
        return 400, "NUL characters are not allowed in forms."
    return None


def has_nul(items: Iterable[tuple[str, Any]]) -> bool:
    return any("\x00" in key or (isinstance(value, str) and "\x00" in value)
               for key, value in items)


def plain_text_unreadable(request: Request, status: int, why: str) -> Response:
    response = Response(why, status=status, content_type="text/plain", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def json_unreadable(request: Request, status: int, why: str) -> Response:
    """For callers that read JSON (the banks, at the webhook app)."""
    return Response(json={"status": "not_found" if status == 404 else "unreadable",
                          "detail": why}, status=status)


def refuse_unreadable_tween_factory(handler: Handler, registry: Registry) -> Handler:
    def tween(request: Request) -> Response:
        refused = unreadable(request)
        if refused is None:
            return handler(request)
        answer: UnreadableResponse = registry.get("unreadable_response",
                                                  plain_text_unreadable)
        return answer(request, *refused)

    return tween


def includeme(config: Configurator) -> None:
    # Under the request id (its answers carry one, and the security headers and
    # the metrics count them), over everything that reads the request.
    config.add_tween("webcommon.readable.refuse_unreadable_tween_factory",
                     under="webcommon.observability.request_id_tween_factory")
