"""Events for shops' servers, written in the same database transaction as what
happened (an outbox): one ``MerchantEvent`` and one delivery per enabled
endpoint of the shop that wants its type. After commit the task queue hears of
the deliveries; the workers send them (wallet.merchants.webhooks)."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core import codes
from ..core.codes import Delivery, utcnow
from ..core.tasks import NoTaskQueue, TaskQueue, after_commit
from .models import MerchantDelivery, MerchantEndpoint, MerchantEvent


def wants(endpoint: MerchantEndpoint, event_type: str) -> bool:
    return event_type in endpoint.events.split()


class MerchantEvents:
    def __init__(self, dbsession: Session, *, tasks: TaskQueue | None = None,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.tasks: TaskQueue = tasks or NoTaskQueue()
        self.clock = clock

    def emit(self, merchant_id: int, event_type: str, data: dict[str, Any], *,
             livemode: bool = True) -> MerchantEvent:
        """Record ``event_type`` for the shop and a delivery to each endpoint
        that wants it; the task queue hears of them once this commits.
        ``livemode``: the mode of the object it is about (wallet.merchants.modes),
        in the payload of every webhook."""
        if event_type not in codes.Event.ALL:
            raise ValueError(f"not an event type: {event_type!r}")
        now = self.clock()
        event = MerchantEvent(public_id=codes.public_id("msg"), merchant_id=merchant_id,
                              type=event_type, created_at=now, livemode=livemode,
                              payload=json.dumps({"type": event_type,
                                                  "timestamp": now.isoformat(),
                                                  "livemode": livemode,
                                                  "data": data}, separators=(",", ":")))
        self.db.add(event)
        self.db.flush()
        endpoints = self.db.scalars(select(MerchantEndpoint).where(
            MerchantEndpoint.merchant_id == merchant_id, MerchantEndpoint.enabled.is_(True)))
        deliveries = [MerchantDelivery(event_id=event.id, endpoint_id=endpoint.id,
                                       status=Delivery.PENDING, attempts=0,
                                       next_attempt_at=now, created_at=now)
                      for endpoint in endpoints if wants(endpoint, event_type)]
        if deliveries:
            self.db.add_all(deliveries)
            self.db.flush()
            ids = [delivery.id for delivery in deliveries]
            after_commit(self.db, lambda: self.tasks.webhooks_due(ids))
        return event
