"""The database out of reach: re-run the request once or twice, then a clean 503.

A connection the database dropped (a restart, ``pg_terminate_backend``, a
network blip) is not the request's fault. Whatever the request wrote was rolled
back with the connection, so the request is simply run again on a fresh
connection (the engine pre-pings what it checks out of the pool); a lost
COMMIT's reply is safe to re-run too, as the money forms carry their request
keys. Only if the database stays unreachable for every attempt does the
request get its answer: 503 with Retry-After, as a page or as problem+json
(``unavailable_response`` in the registry), never a 500 with a traceback.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid_retry import mark_error_retryable
from sqlalchemy.exc import DBAPIError, InterfaceError, InternalError, OperationalError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
#: SQLSTATE classes and codes that mean "the connection is gone", not "the
#: statement was wrong": 08 connection exceptions, 57P01-57P03 the server
#: shutting down (or killing this backend) or not yet accepting connections.
CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03", "25006")
# 25006 (read_only_sql_transaction): the server reached is not a primary -- a
# standby being promoted (Patroni answers /primary as soon as it holds the
# leader key, a moment before PostgreSQL accepts writes) or a primary that just
# demoted itself. wallet.models.get_engine drops such a connection; the request
# is re-run on a fresh one, which HAProxy sends to the primary.

UnavailableResponse = Callable[[Request], Response]


def is_connection_error(exc: BaseException) -> bool:
    """True if ``exc`` says the database could not be reached or dropped the
    connection (not a constraint, a deadlock or a bad statement)."""
    if not isinstance(exc, (OperationalError, InterfaceError, InternalError)):
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate: str | None = getattr(exc.orig, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(CONNECTION_SQLSTATES)
    # psycopg gives no SQLSTATE when it cannot connect at all or the socket
    # closed under it; SQLite's OperationalErrors ("database is locked") are
    # not about connections and pass through, and so do InternalErrors.
    return isinstance(exc, (OperationalError, InterfaceError)) and \
        type(exc.orig).__module__.startswith("psycopg")


def html_unavailable(request: Request) -> Response:
    """A page that needs nothing (no template, no signed-in user: both would
    ask the database again)."""
    body = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Back in a moment</title></head><body><h1>Back in a moment</h1>"
            "<p>We cannot reach our records just now. Please try again in a few "
            "seconds: a form sent again is never applied twice.</p></body></html>")
    return Response(body, status=503, content_type="text/html", charset="utf-8")


def json_unavailable(request: Request) -> Response:
    """problem+json (RFC 9457), the same shape as the API's problems."""
    body: dict[str, Any] = {
        "type": "/problems/service-unavailable", "title": "Temporarily unavailable",
        "status": 503, "code": "service_unavailable",
        "detail": "We cannot reach our records just now. Try again in a few seconds "
                  "(money requests with the same Idempotency-Key: they are applied once)."}
    return Response(json_body=body, status=503, content_type="application/problem+json",
                    charset="utf-8")


class DatabaseUnreachablePredicate:
    """View predicate ``database_unreachable = True``: the exception view's
    context is a connection error (other database errors keep their views)."""

    def __init__(self, value: bool, config: Any) -> None:
        self.value = value

    def text(self) -> str:
        return f"database_unreachable = {self.value}"

    phash = text

    def __call__(self, context: Any, request: Request) -> bool:
        return is_connection_error(context) == self.value


def unavailable_view(exc: Exception, request: Request) -> Response:
    """The exception view for connection errors: marked for pyramid_retry
    (which re-runs the request unless this was its last attempt), answered 503."""
    mark_error_retryable(exc)
    log.warning("database unreachable in %s %s: %s", request.method, request.path,
                type(exc.__cause__ or exc).__name__)
    make: UnavailableResponse = request.registry.get("unavailable_response", html_unavailable)
    response = make(request)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def unavailable_tween_factory(handler: Callable[[Request], Response],
                              registry: Any) -> Callable[[Request], Response]:
    """Over pyramid_tm: catches the connection errors raised where no exception
    view runs (loading the signed-in user as the transaction begins, or the
    abort after a failure) and renders them the same way."""

    def tween(request: Request) -> Response:
        try:
            return handler(request)
        except (OperationalError, InterfaceError, InternalError) as exc:
            if not is_connection_error(exc):
                raise
            response: Response = request.invoke_exception_view(sys.exc_info())
            return response

    return tween


def includeme(config: Configurator) -> None:
    config.add_view_predicate("database_unreachable", DatabaseUnreachablePredicate)
    for context in (OperationalError, InterfaceError, InternalError):
        config.add_exception_view(unavailable_view, context=context,
                                  database_unreachable=True)
    config.add_tween("webcommon.unavailable.unavailable_tween_factory",
                     over="pyramid_tm.tm_tween_factory")
