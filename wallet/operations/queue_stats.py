"""How much work waits, per queue and state, and how old its oldest item is:
read from the database, so every process (each app's /metrics, the workers',
the operators' console) tells the same truth, whichever process did the work."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.codes import Delivery, Kind, Status, utcnow
from ..core.models import Transaction
from ..merchants.models import MerchantDelivery

#: queue -> the states in which its items wait for someone (a worker, the bank, a human).
WAITING_STATES: dict[str, tuple[str, ...]] = {
    "payouts": (Status.QUEUED, Status.SENDING, Status.NEEDS_REVIEW),
    "deposits": (Status.PENDING,),
    "shop_webhooks": (Delivery.PENDING, Delivery.RETRYING),
}


@dataclass(frozen=True)
class QueueState:
    queue: str
    state: str
    depth: int
    oldest_age_s: float  # 0 when empty


def _age_s(now: dt.datetime, since: dt.datetime | None) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:  # SQLite hands back naive UTC times
        since = since.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (now - since).total_seconds())


def queue_states(db: Session, now: dt.datetime | None = None) -> list[QueueState]:
    """Every (queue, state) of :data:`WAITING_STATES`, empty ones included (so a
    gauge drops back to zero rather than vanishing). Three grouped queries."""
    now = now or utcnow()
    found: dict[tuple[str, str], tuple[int, dt.datetime | None]] = {}
    for queue, kind in (("payouts", Kind.WITHDRAWAL), ("deposits", Kind.DEPOSIT)):
        rows = db.execute(
            select(Transaction.status, func.count(), func.min(Transaction.created_at))
            .where(Transaction.kind == kind, Transaction.status.in_(WAITING_STATES[queue]))
            .group_by(Transaction.status))
        for status, depth, oldest in rows:
            found[(queue, status)] = (depth, oldest)
    rows = db.execute(
        select(MerchantDelivery.status, func.count(), func.min(MerchantDelivery.created_at))
        .where(MerchantDelivery.status.in_(WAITING_STATES["shop_webhooks"]))
        .group_by(MerchantDelivery.status))
    for status, depth, oldest in rows:
        found[("shop_webhooks", status)] = (depth, oldest)
    return [QueueState(queue, state, *_unpack(found.get((queue, state)), now))
            for queue, states in WAITING_STATES.items() for state in states]


def _unpack(row: tuple[int, dt.datetime | None] | None, now: dt.datetime) -> tuple[int, float]:
    if row is None:
        return 0, 0.0
    return row[0], _age_s(now, row[1])
