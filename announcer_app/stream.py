"""One counter's Server-Sent Events stream: today's backlog (a fresh page),
or what came after the browser's ``Last-Event-ID`` (a reconnect), then each
payment as it becomes final, with heartbeats, until the token runs out.

Each poll is a short transaction of its own (a session opened and closed), so
a stream holds a thread of the server, never a database connection, while it
waits."""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from wallet.merchants.counter import (
    READ_LIMIT,
    START,
    CounterFeed,
    CounterItem,
    CounterStream,
    Position,
)

__all__ = ["StreamTiming", "event_stream", "sse_event"]

#: Opens a feed on a session of its own, closed (its transaction ended) on exit.
FeedOpener = Callable[[], AbstractContextManager[CounterFeed]]


@dataclass(frozen=True)
class StreamTiming:
    #: How often the outbox is read while nothing comes.
    poll_interval_s: float = 1.0
    #: A comment line at least this often: proxies keep the connection, and a
    #: browser gone is noticed (the write fails) within this long.
    heartbeat_s: float = 15.0
    #: What the browser waits before reconnecting (the SSE ``retry:``).
    retry_ms: int = 2000


def sse_event(kind: str, data: object, event_id: str | None = None) -> bytes:
    """One SSE message (``data`` as one line of JSON)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _payment(item: CounterItem) -> bytes:
    return sse_event("payment", item.payload(), str(item.position))


def event_stream(open_feed: FeedOpener, stream: CounterStream, after: Position | None, *,
                 expires_at: dt.datetime, timing: StreamTiming,
                 now: Callable[[], dt.datetime], stopping: threading.Event,
                 monotonic: Callable[[], float] = time.monotonic) -> Iterator[bytes]:
    """The stream's bytes. ``after`` None: a fresh page, sent today's
    payments up to the horizon first; either way an ``event: ready`` (its id
    the position reached) says that what follows is new. Ends when the token
    runs out, or at once when ``stopping`` is set (the process stops)."""
    yield f"retry: {timing.retry_ms}\n: {stream.store_name}\n\n".encode()
    cursor = yield from _catch_up(open_feed, stream, after)
    yield sse_event("ready", {"store": stream.store_name}, str(cursor))
    last_write = monotonic()
    while now() < expires_at and not stopping.is_set():
        with open_feed() as feed:
            items = feed.read(stream, cursor)
        for item in items:
            yield _payment(item)
            cursor = item.position
        if items:
            last_write = monotonic()
            if len(items) == READ_LIMIT:
                continue  # more waiting: no sleep
        elif monotonic() - last_write >= timing.heartbeat_s:
            yield b": heartbeat\n\n"
            last_write = monotonic()
        if stopping.wait(timing.poll_interval_s):
            return  # (the browser reconnects to another process, after its last id)
    # The token ran out: the page fetches a new one and resumes from the id it has.
    yield sse_event("expired", {})


def _catch_up(open_feed: FeedOpener, stream: CounterStream,
              after: Position | None) -> Generator[bytes, None, Position]:
    """A fresh page's backlog (today's, up to the horizon); the position
    to go on from. A reconnect has none: it goes on from ``after``."""
    if after is not None:
        return after
    with open_feed() as feed:
        upto, since = feed.horizon(), feed.today_start()
    cursor = START
    while True:
        with open_feed() as feed:
            items = feed.read(stream, cursor, upto=upto, since=since)
        for item in items:
            yield _payment(item)
            cursor = item.position
        if len(items) < READ_LIMIT:
            return upto
