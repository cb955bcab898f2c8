"""What the API can read at all, checked before anything else looks at a
request. The path and the query string are every app's (webcommon.readable,
answered here as problems: a path 404 ``not_found``, else 400
``malformed_request``); the API adds a POST body that is UTF-8 and not too
large, and JSON as RFC 8259 has it (no NaN or Infinity, no lone surrogates).
Unchecked, it would be a 500 wherever a library, the Idempotency-Key
fingerprint or the database first tripped over it."""
from __future__ import annotations

from collections.abc import Callable

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from .problems import problem

Handler = Callable[[Request], Response]
#: No request of the API needs more; a bigger body is refused unread.
MAX_BODY_BYTES = 64 * 1024


def refuse_unreadable_tween_factory(handler: Handler, registry: Registry) -> Handler:
    def tween(request: Request) -> Response:
        # (waitress gives every body a Content-Length, chunked ones too, and caps
        # them first: max_request_body_size in [server:api])
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return problem("payload_too_large", f"Bodies are at most {MAX_BODY_BYTES} bytes.")
        if request.method == "POST":
            try:
                # (the document's validator would fail quoting it in its refusal)
                request.body.decode("utf-8")
            except UnicodeDecodeError:
                return problem("malformed_request", "The body is not valid JSON (not UTF-8).")
        return handler(request)

    return tween


def problem_unreadable(request: Request, status: int, why: str) -> Response:
    """webcommon.readable's refusals as problems."""
    return problem("not_found" if status == 404 else "malformed_request", why)


def includeme(config: Configurator) -> None:
    config.registry["unreadable_response"] = problem_unreadable
    # Over webcommon's (a body too large is refused before a form parser reads it).
    config.add_tween("api_app.readable.refuse_unreadable_tween_factory",
                     under="webcommon.observability.request_id_tween_factory",
                     over="webcommon.readable.refuse_unreadable_tween_factory")
