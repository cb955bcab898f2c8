"""Pages that only read (history, statements, a shop's dashboard and reports,
the console's lists) may be served from a standby: ``request.read_dbsession``.

With ``sqlalchemy.read_url`` unset (development, tests, one database) it is
``request.dbsession`` itself. Set (production: HAProxy's replica door, which
sends connections only to standbys Patroni calls healthy and less than 16 MB
behind), each request checks the standby before using it, in one query:

* read-your-writes: after a person's request that wrote (a POST answered
  below 400), their session keeps the primary's WAL position at that moment
  (``pg_current_wal_lsn()``, after the commit). A standby that has not yet
  replayed up to it is not used for them: their next page reads the primary
  and shows what they just did;
* bounded staleness: a standby whose replay is more than
  ``wallet.read_max_staleness_s`` (default 5 s) behind the WAL it has received
  is not used by anyone.

Any failure of the standby (unreachable, none left) falls back to the primary:
a read page is never refused because a standby is down. Money paths, balances
before a payment and every state machine keep ``request.dbsession``. A standby
replays only committed WAL, so nothing the primary rolled back is ever shown.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pyramid.config import Configurator
from pyramid.interfaces import ISessionFactory
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from wallet.db import WalletSession, get_engine, get_session_factory

log = logging.getLogger(__name__)

#: The person's read-your-writes floor in their session (a WAL position).
FLOOR_KEY = "read_floor_lsn"
#: Which database served the reads (``standby`` or ``primary``), for logs and tests.
ENVIRON_KEY = "wallet.read_from"
READ_FROM_HEADER = "X-Read-From"

STANDBY_FRESH = text(
    "SELECT pg_is_in_recovery()"
    " AND pg_last_wal_replay_lsn() >= CAST(:floor AS pg_lsn)"
    " AND (pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    "      OR now() - pg_last_xact_replay_timestamp() <= make_interval(secs => :max_lag))")


def read_dbsession(request: Request) -> Session:
    """A session on a standby fresh enough for this person, or the primary's."""
    factory: sessionmaker[WalletSession] | None = request.registry.get("read_dbsession_factory")
    if factory is None:
        primary: Session = request.dbsession
        return primary
    floor = _floor(request) or "0/0"
    session = factory()
    try:
        fresh = bool(session.execute(STANDBY_FRESH, {
            "floor": floor, "max_lag": request.registry["read_max_staleness_s"]}).scalar())
    except DBAPIError as exc:
        log.info("standby not used (%s): reading the primary", type(exc).__name__)
        fresh = False
    request.add_response_callback(_say_where)
    if not fresh:
        session.close()
        request.environ[ENVIRON_KEY] = "primary"
        primary = request.dbsession
        return primary
    request.environ[ENVIRON_KEY] = "standby"
    request.add_finished_callback(lambda _: session.close())
    return session


def _say_where(request: Request, response: Response) -> None:
    response.headers[READ_FROM_HEADER] = request.environ.get(ENVIRON_KEY, "primary")


def _floor(request: Request) -> str | None:
    if request.registry.queryUtility(ISessionFactory) is None:
        return None  # the API: no cookie session (its reads stay on the primary)
    value = request.session.get(FLOOR_KEY)
    return value if isinstance(value, str) else None


def remember_writes_tween_factory(handler: Callable[[Request], Response],
                                  registry: Any) -> Callable[[Request], Response]:
    """Over pyramid_tm (so after the commit): a person's request that wrote
    leaves the primary's WAL position in their session."""
    primary = registry["dbsession_factory"].kw.get("bind")
    if registry.get("read_dbsession_factory") is None or (
            primary is not None and primary.dialect.name != "postgresql"):
        return handler  # no standbys (SQLite has no WAL position to remember)

    def tween(request: Request) -> Response:
        response = handler(request)
        if (request.method == "POST" and response.status_code < 400
                and registry.queryUtility(ISessionFactory) is not None
                and "dbsession" in request.__dict__):  # it used the database
            try:
                with registry["dbsession_factory"]() as session:
                    position = session.execute(text("SELECT pg_current_wal_lsn()::text"))
                    request.session[FLOOR_KEY] = position.scalar()
            except DBAPIError as exc:  # the primary went away since: no floor is safe
                log.warning("no read-your-writes floor recorded (%s)", type(exc).__name__)
                request.session[FLOOR_KEY] = "FFFFFFFF/FFFFFFFF"
        return response

    return tween


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    factory = settings.get("read_dbsession_factory")  # tests hand in their own
    read_url = settings.get("sqlalchemy.read_url")
    if factory is None and read_url:
        factory = get_session_factory(get_engine({**settings, "sqlalchemy.url": read_url}),
                                      observer=config.registry["observer"])
    config.registry["read_dbsession_factory"] = factory
    config.registry["read_max_staleness_s"] = float(
        settings.get("wallet.read_max_staleness_s", 5))
    config.add_request_method(read_dbsession, reify=True)
    config.add_tween("webcommon.reads.remember_writes_tween_factory",
                     over="pyramid_tm.tm_tween_factory")
