"""The announcer ([app:announcer], :6549 in development): Server-Sent Events
for the merchant app's counter page, one stream per open counter, each
payment to its store the moment it is committed (wallet.merchants.counter).

A process of its own, scaled apart from the pages: each stream holds one of
the server's threads for its life (waitress: ``threads``), so
``announcer.max_streams`` (kept below the thread count, which /healthz and
/readyz need too) bounds the streams a process serves; more are answered 503
with ``Retry-After``, and the browser tries again. Each stream reads the
outbox every ``announcer.poll_interval_s`` on a short transaction, holding no
database connection while it waits. A plain WSGI app (no Pyramid): there is
no page, no session and no form here, and a stream must not run inside a
request's transaction manager.

Routes: ``GET /stream?token=...[&last_event_id=...]`` (the browser's
``Last-Event-ID`` header wins: it is the newer on an automatic reconnect),
``GET /healthz``, ``GET /readyz`` (the database answers).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from wallet.core.codes import utcnow
from wallet.core.ini import ConfigurationError
from wallet.db import get_engine, get_session_factory
from wallet.merchants.counter import CounterFeed, CounterTokens, Position, TokenRefused
from wallet.services import Services, counter_tokens
from wallet.settings import WalletSettings, resolve_settings

from .stream import StreamTiming, event_stream

__all__ = ["AnnouncerApp", "main"]

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Environ = Mapping[str, Any]

#: Every answer's: no framing, no sniffing, no referrer, no cache.
_HEADERS = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store")]


class AnnouncerApp:
    """The WSGI app: streams for tokens the merchant app signed."""

    def __init__(self, settings: WalletSettings, *, allowed_origins: frozenset[str],
                 timing: StreamTiming, max_streams: int,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.settings = settings
        self.engine = get_engine(settings.raw)
        self.sessions = get_session_factory(self.engine)
        self.tokens: CounterTokens = counter_tokens(settings, clock)
        self.allowed_origins = allowed_origins
        self.timing = timing
        self.max_streams = max_streams
        self.clock = clock
        self._streams = 0
        self._lock = threading.Lock()
        #: Set by :meth:`stop`: every stream ends at its next poll.
        self.stopping = threading.Event()

    def stop(self) -> None:
        """End every stream (their browsers reconnect, after their last id)."""
        self.stopping.set()

    @property
    def open_streams(self) -> int:
        return self._streams

    @contextlib.contextmanager
    def feed(self) -> Iterator[CounterFeed]:
        """A feed on a session of its own, closed (its transaction ended) on exit."""
        with self.sessions() as session:
            yield Services(session, self.settings, clock=self.clock).counter_feed

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz":
            return _plain(start_response, "200 OK", "ok")
        if path == "/readyz":
            return self._ready(start_response)
        if path != "/stream":
            return _plain(start_response, "404 Not Found", "not found")
        cors = self._cors(environ)
        if method == "OPTIONS":
            return _plain(start_response, "204 No Content", "", cors)
        if method != "GET":
            return _plain(start_response, "405 Method Not Allowed", "GET only",
                          [*cors, ("Allow", "GET")])
        return self._stream(environ, start_response, cors)

    def _cors(self, environ: Environ) -> list[tuple[str, str]]:
        """The merchant app's origin may read the stream (another port or
        host); no credentials: the token is the authority."""
        origin = environ.get("HTTP_ORIGIN", "")
        if origin and origin in self.allowed_origins:
            return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                    ("Access-Control-Allow-Headers", "Last-Event-ID, Cache-Control"),
                    ("Access-Control-Allow-Methods", "GET")]
        return [("Vary", "Origin")]

    def _ready(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return _plain(start_response, "503 Service Unavailable", "database unreachable")
        return _plain(start_response, "200 OK", "ready")

    def _stream(self, environ: Environ, start_response: StartResponse,
                cors: list[tuple[str, str]]) -> Iterable[bytes]:
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        try:
            grant = self.tokens.verify(query.get("token", [""])[0])
        except TokenRefused as exc:
            return _plain(start_response, "401 Unauthorized", f"token refused: {exc}", cors)
        last = (environ.get("HTTP_LAST_EVENT_ID") or query.get("last_event_id", [""])[0]).strip()
        after = Position.parse(last) if last else None
        if last and after is None:
            return _plain(start_response, "400 Bad Request", "Last-Event-ID is not ours", cors)
        with self.feed() as feed:
            stream = feed.stream_of(grant.merchant_id, grant.store_id)
        if stream is None:
            return _plain(start_response, "403 Forbidden", "no such open store", cors)
        if not self._take_slot():
            return _plain(start_response, "503 Service Unavailable", "too many streams",
                          [*cors, ("Retry-After", "5")])
        start_response("200 OK", [("Content-Type", "text/event-stream; charset=utf-8"),
                                  ("X-Accel-Buffering", "no"), *_HEADERS, *cors])
        return self._counted(event_stream(self.feed, stream, after,
                                          expires_at=grant.expires_at, timing=self.timing,
                                          now=self.clock, stopping=self.stopping))

    def _take_slot(self) -> bool:
        with self._lock:
            if self._streams >= self.max_streams:
                return False
            self._streams += 1
            return True

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """``chunks``, its slot given back when the stream ends (the browser
        gone: the server closes this generator after a write fails)."""
        try:
            yield from chunks
        except SQLAlchemyError:  # the database away: end; the browser reconnects
            log.warning("counter stream ended: the database did not answer", exc_info=True)
        finally:
            with self._lock:
                self._streams -= 1


def _plain(start_response: StartResponse, status: str, body: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    data = body.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(data))), *_HEADERS, *(extra or [])])
    return [data]


def _number(settings: Mapping[str, Any], key: str, default: float) -> float:
    value = settings.get(key)
    try:
        number = float(value) if value not in (None, "") else default
    except ValueError:
        raise ConfigurationError(f"setting {key} = {value!r} is not a number") from None
    if number <= 0:
        raise ConfigurationError(f"setting {key} must be positive")
    return number


def main(global_config: dict[str, Any] | None, **settings: Any) -> AnnouncerApp:
    """The announcer from its ini section: ``wallet.counter_token_secret``
    (required), ``announcer.allowed_origins`` (the merchant app's origins,
    space-separated), ``announcer.poll_interval_s``, ``announcer.heartbeat_s``,
    ``announcer.retry_ms``, ``announcer.max_streams``."""
    resolved = resolve_settings(global_config, settings)
    wallet_settings = WalletSettings.from_dict(resolved)
    timing = StreamTiming(
        poll_interval_s=_number(resolved, "announcer.poll_interval_s", 1.0),
        heartbeat_s=_number(resolved, "announcer.heartbeat_s", 15.0),
        retry_ms=int(_number(resolved, "announcer.retry_ms", 2000)))
    origins = frozenset(str(resolved.get("announcer.allowed_origins", "")).split())
    return AnnouncerApp(wallet_settings, allowed_origins=origins, timing=timing,
                        max_streams=int(_number(resolved, "announcer.max_streams", 30)))
