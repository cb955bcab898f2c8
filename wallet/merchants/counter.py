"""The shop's counter: each payment to a store announced the moment it is
committed (the merchant app's counter page, fed by the announcer process).

Two parts:

* :class:`CounterTokens`: the short-lived signed token the counter page hands
  the browser for the announcer's stream, naming the shop and the store
  (HMAC-SHA256 with ``wallet.counter_token_secret``);
* :class:`CounterFeed`: the outbox's reader (wallet.core.models.CounterEvent,
  written in each payment's own transaction by wallet.core.counter_events).

Ordering: events are read in ``(xid, id)`` order, and only those whose
writing transaction ``xid`` is below the oldest transaction still running
(PostgreSQL's ``pg_snapshot_xmin`` of the reading statement's own snapshot).
Every event at or before a delivered one is then final: its transaction had
ended before the read, so it was seen (committed) or will never be (rolled
back). Ids alone would not do: a sequence hands out 11 then 12 and 12 may
commit first; a reader at 12 would pass 11 by for ever. SQLite serializes
writers (BEGIN IMMEDIATE): there ``xid`` is 0 and ``id`` orders them.
docs/architecture.md, "The counter's announcer".
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Text, cast, func, or_, select, tuple_
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..core.amount_words import Language, announcement
from ..core.codes import IST, utcnow
from ..core.models import CounterEvent, MerchantStore

__all__ = ["CounterFeed", "CounterGrant", "CounterItem", "CounterStream", "CounterTokens",
           "Position", "TokenRefused"]

_POSITION = re.compile(r"(\d{1,19})-(\d{1,19})")
_TOKEN = re.compile(r"c1\.(\d{1,18})\.(\d{1,18})\.(\d{1,12})\.([A-Za-z0-9_-]{43})")
#: The most events one read returns (a day's backlog comes in several).
READ_LIMIT = 200


@dataclass(frozen=True, order=True)
class Position:
    """Where a reader is in the outbox: the last event delivered, as
    ``(xid, id)``; the SSE ``id:`` of each event is its position."""

    xid: int
    id: int

    @classmethod
    def parse(cls, text: str) -> Position | None:
        """A position as :meth:`__str__` writes it; None for anything else."""
        found = _POSITION.fullmatch((text or "").strip())
        if found is None or int(found[1]) >= 2**63 or int(found[2]) >= 2**63:
            return None
        return cls(int(found[1]), int(found[2]))

    def __str__(self) -> str:
        return f"{self.xid}-{self.id}"


START = Position(0, 0)
LAST_ID = 2**63 - 1


class TokenRefused(ValueError):
    """A stream token that is malformed, forged or out of date."""


@dataclass(frozen=True)
class CounterGrant:
    """What a valid token allows: the stream of one store of one shop, until then."""

    merchant_id: int
    store_id: int
    expires_at: dt.datetime


class CounterTokens:
    """Short-lived tokens for the announcer's stream: ``c1.<shop>.<store>.
    <expiry, Unix seconds>.<HMAC-SHA256 of the rest, base64url>``. They go
    in the stream's URL (EventSource sends no headers), so they live minutes,
    not hours; the page asks for a new one when it reconnects."""

    def __init__(self, *, secret: str, ttl_s: float,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._key = hashlib.sha256(b"wallet.counter.v1:" + secret.encode()).digest()
        self.ttl_s = ttl_s
        self.clock = clock

    def _mac(self, message: str) -> str:
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, merchant_id: int, store_id: int) -> tuple[str, dt.datetime]:
        """A token for ``store_id`` of ``merchant_id`` (the caller checked the
        store is the shop's), and when it runs out."""
        expires = int(self.clock().timestamp() + self.ttl_s)
        message = f"c1.{merchant_id}.{store_id}.{expires}"
        return (f"{message}.{self._mac(message)}",
                dt.datetime.fromtimestamp(expires, dt.timezone.utc))

    def verify(self, token: str) -> CounterGrant:
        found = _TOKEN.fullmatch(token or "")
        if found is None:
            raise TokenRefused("not a counter token")
        message = token.rsplit(".", 1)[0]
        if not hmac.compare_digest(self._mac(message), found[4]):
            raise TokenRefused("not signed by us")
        expires = int(found[3])
        now = self.clock().timestamp()
        if expires <= now:
            raise TokenRefused("expired")
        if expires > now + self.ttl_s + 60:  # (not one of ours: ours live ttl_s)
            raise TokenRefused("lives too long")
        return CounterGrant(int(found[1]), int(found[2]),
                            dt.datetime.fromtimestamp(expires, dt.timezone.utc))


@dataclass(frozen=True)
class CounterStream:
    """One store's stream: its shop, its name, and whether payments with no
    store (``store_id`` NULL) are its (the shop's first store)."""

    merchant_id: int
    store_id: int
    store_name: str
    first_store: bool


@dataclass(frozen=True)
class CounterItem:
    """One payment as the counter shows and says it."""

    position: Position
    transaction_id: int
    amount_paise: int
    created_at: dt.datetime
    store_name: str

    def payload(self) -> dict[str, Any]:
        """The event's JSON: the amount, the India day and time, and what to
        say in each language."""
        local = self.created_at.astimezone(IST)
        return {"id": str(self.position), "transaction_id": self.transaction_id,
                "amount_paise": self.amount_paise, "amount": format_paise(self.amount_paise),
                "day": local.date().isoformat(), "time": local.strftime("%H:%M:%S"),
                "store": self.store_name,
                "say": {language.value: announcement(self.store_name, self.amount_paise,
                                                     language) for language in Language}}


def _horizon() -> Any:
    """The oldest transaction still running, as the reading statement's own
    snapshot sees it (no xid is assigned to the reader)."""
    return cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)


class CounterFeed:
    """Reads the counter's outbox (each call a statement of its own: the
    announcer runs it on a short transaction per poll)."""

    def __init__(self, dbsession: Session, *,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db = dbsession
        self.clock = clock

    def stores(self, merchant_id: int) -> list[MerchantStore]:
        """The shop's open stores, its first store first."""
        return list(self.db.scalars(
            select(MerchantStore).where(MerchantStore.merchant_id == merchant_id,
                                        MerchantStore.closed_at.is_(None))
            .order_by(MerchantStore.id)))

    def stream_of(self, merchant_id: int, store_id: int) -> CounterStream | None:
        """The stream of the shop's store ``store_id``; None when it is not
        one of the shop's open stores."""
        rows = self.db.execute(
            select(MerchantStore.id, MerchantStore.name, MerchantStore.closed_at)
            .where(MerchantStore.merchant_id == merchant_id).order_by(MerchantStore.id)).all()
        for i, (found_id, name, closed_at) in enumerate(rows):
            if found_id == store_id and closed_at is None:
                return CounterStream(merchant_id, store_id, name, first_store=i == 0)
        return None

    def horizon(self) -> Position:
        """A position every event at or before which is final now (and every
        event after which is not yet, or is still to be written): where a
        fresh reader starts after today's backlog."""
        if self.db.get_bind().dialect.name == "postgresql":
            oldest_running: int = self.db.execute(select(_horizon())).scalar_one()
            return Position(oldest_running - 1, LAST_ID)
        last: int = self.db.execute(select(func.coalesce(func.max(CounterEvent.id), 0))
                                    ).scalar_one()
        return Position(0, last)

    def read(self, stream: CounterStream, after: Position = START, *,
             upto: Position | None = None, since: dt.datetime | None = None,
             limit: int = READ_LIMIT) -> list[CounterItem]:
        """The stream's events after ``after`` (and at most ``upto``) that
        are final (see the module's docstring), in order; ``since``: only
        those made from then on (a page opened afresh shows today's)."""
        e = CounterEvent
        store = e.store_id == stream.store_id
        if stream.first_store:
            store = or_(store, e.store_id.is_(None))
        stmt = (select(e.id, e.xid, e.transaction_id, e.amount_paise, e.created_at)
                .where(e.merchant_id == stream.merchant_id, store,
                       tuple_(e.xid, e.id) > tuple_(after.xid, after.id))
                .order_by(e.xid, e.id).limit(limit))
        if upto is not None:
            stmt = stmt.where(tuple_(e.xid, e.id) <= tuple_(upto.xid, upto.id))
        if since is not None:
            stmt = stmt.where(e.created_at >= since)
        if self.db.get_bind().dialect.name == "postgresql":
            stmt = stmt.where(e.xid < _horizon())
        return [CounterItem(Position(xid, event_id), transaction_id, amount, created_at,
                            stream.store_name)
                for event_id, xid, transaction_id, amount, created_at in self.db.execute(stmt)]

    def today_start(self) -> dt.datetime:
        """The first instant of today in India (a fresh page shows today's)."""
        now = self.clock().astimezone(IST)
        return dt.datetime.combine(now.date(), dt.time(), IST)
