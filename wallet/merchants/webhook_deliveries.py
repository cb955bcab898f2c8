"""The delivery state machine of webhooks to shops' servers
(:class:`WebhookDeliveries`), driven by a worker (:class:`WebhookWorker`:
claim, send with no transaction open, record); endpoints and signing are in
wallet.merchants.webhooks:

```
pending ──2xx──► delivered                      (the endpoint's failing_since cleared)
   │   ──other answer, error, timeout──► retrying ──2xx──► delivered
   │                                        │ next try after min(cap, base·2ⁿ)·jitter(0.5..1.5)
   │                                        └─retry window since the first try spent─► failed
   └─endpoint disabled (by the shop, or failing for longer than disable_after)──► failed
```

A claim takes the delivery's row lock (after its endpoint's: one lock order),
writes the attempt down as in flight and leases the delivery for the call's
timeout, so a second worker (or the sweeper) cannot send it at the same time;
the lease runs out if the worker dies, and the sweeper sends it again. While an
endpoint is failing it gets one call at a time per ``backoff_base_s``; its
other deliveries wait their turn rather than each tying up a worker. The
``webhook-id`` is the event's, the same on every retry and resend, so the
shop can de-duplicate.
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.codes import Delivery, utcnow
from ..core.tasks import TransactionRunner
from .errors import DeliveryNotFound
from .models import MerchantDelivery, MerchantDeliveryAttempt, MerchantEndpoint, MerchantEvent
from .webhook_sender import SendResult, WebhookSender
from .webhooks import (
    IN_FLIGHT,
    OPEN,
    SWEEP_BATCH,
    WebhookPolicy,
    disable_endpoint,
    duration_text,
    signed_headers,
    signing_secrets,
)

__all__ = ["Deferred", "Outgoing", "Recorded", "Step", "WebhookDeliveries", "WebhookWorker"]


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery: the call to make, signed, and its attempt's id."""

    delivery_id: int
    attempt_id: int
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Deferred:
    """Not sent now: its endpoint is failing and was tried moments ago."""

    delivery_id: int
    until: dt.datetime


@dataclass(frozen=True)
class Recorded:
    """Where a delivery stands after an attempt."""

    delivery_id: int
    status: str
    next_attempt_at: dt.datetime | None
    endpoint_disabled: bool = False


class WebhookDeliveries:
    """Claim, record, sweep: each in the caller's transaction."""

    def __init__(self, dbsession: Session, policy: WebhookPolicy, *,
                 clock: Callable[[], dt.datetime] = utcnow, rng: random.Random | None = None):
        self.db = dbsession
        self.policy = policy
        self.clock = clock
        self.rng = rng or random.Random()

    def _locked(self, delivery_id: int) -> tuple[MerchantEndpoint, MerchantDelivery] | None:
        """The delivery and its endpoint, both locked (the endpoint first,
        everywhere: one lock order)."""
        endpoint_id = self.db.scalar(select(MerchantDelivery.endpoint_id).where(
            MerchantDelivery.id == delivery_id))
        if endpoint_id is None:
            return None
        endpoint = self.db.scalar(
            select(MerchantEndpoint).where(MerchantEndpoint.id == endpoint_id)
            .with_for_update(key_share=True).execution_options(populate_existing=True))
        delivery = self.db.scalar(
            select(MerchantDelivery).where(MerchantDelivery.id == delivery_id)
            .with_for_update(key_share=True).execution_options(populate_existing=True))
        if endpoint is None or delivery is None:
            return None
        return endpoint, delivery

    def claim(self, delivery_id: int) -> Outgoing | Deferred | None:
        """The call to make for a due delivery, with its attempt written down
        and the delivery leased for the call; ``Deferred`` if its failing
        endpoint must not be called yet; None if there is nothing to send
        (delivered, failed, not due, or being sent by someone else)."""
        locked = self._locked(delivery_id)
        if locked is None:
            return None
        endpoint, delivery = locked
        now = self.clock()
        if delivery.status not in OPEN or (delivery.next_attempt_at is not None
                                           and delivery.next_attempt_at > now):
            return None
        if not endpoint.enabled:
            delivery.status, delivery.next_attempt_at = Delivery.FAILED, None
            delivery.last_error = "endpoint disabled"
            return None
        if endpoint.failing_since is not None:
            last = self.db.scalar(
                select(func.max(MerchantDeliveryAttempt.started_at))
                .join(MerchantDelivery, MerchantDelivery.id == MerchantDeliveryAttempt.delivery_id)
                .where(MerchantDelivery.endpoint_id == endpoint.id,
                       MerchantDelivery.status.in_(OPEN), MerchantDelivery.id != delivery.id))
            spacing = dt.timedelta(seconds=self.policy.backoff_base_s)  # its own: its backoff
            if last is not None and now < last + spacing:
                until = last + spacing * (1 + self.rng.random())
                delivery.next_attempt_at = until
                return Deferred(delivery.id, until)
        event = self.db.get_one(MerchantEvent, delivery.event_id)
        attempt = MerchantDeliveryAttempt(delivery_id=delivery.id, started_at=now,
                                          status_code=None, latency_ms=0, error=IN_FLIGHT)
        self.db.add(attempt)
        delivery.attempts += 1
        delivery.next_attempt_at = now + dt.timedelta(seconds=self.policy.lease_s)
        self.db.flush()
        body = event.payload.encode()
        headers = signed_headers(signing_secrets(endpoint, now), event.public_id,
                                 int(now.timestamp()), body)
        return Outgoing(delivery.id, attempt.id, endpoint.url, headers, body)

    def record(self, outgoing: Outgoing, result: SendResult) -> Recorded:
        """Write down what the call came to and move the delivery on."""
        locked = self._locked(outgoing.delivery_id)
        if locked is None:
            raise DeliveryNotFound(f"delivery {outgoing.delivery_id} is gone")
        endpoint, delivery = locked
        now = self.clock()
        attempt = self.db.get_one(MerchantDeliveryAttempt, outgoing.attempt_id)
        if attempt.error != IN_FLIGHT:  # recorded already (a task run twice)
            return Recorded(delivery.id, delivery.status, delivery.next_attempt_at)
        attempt.status_code, attempt.latency_ms = result.status_code, result.latency_ms
        attempt.error = result.error[:300]
        if result.ok:  # (even if it was failed meanwhile by a disable: the shop has it)
            if delivery.status != Delivery.DELIVERED:
                delivery.status, delivery.delivered_at = Delivery.DELIVERED, now
            delivery.last_status_code, delivery.last_error = result.status_code, ""
            delivery.next_attempt_at = None
            endpoint.failing_since = None
            return Recorded(delivery.id, delivery.status, None)
        if delivery.status not in OPEN:  # delivered meanwhile, or failed by a disable
            return Recorded(delivery.id, delivery.status, delivery.next_attempt_at)
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error[:300]
        if endpoint.failing_since is None:
            endpoint.failing_since = attempt.started_at
        failing_for = (now - endpoint.failing_since).total_seconds()
        if endpoint.enabled and failing_for >= self.policy.disable_after_s:
            what = result.error or f"HTTP {result.status_code}"
            disable_endpoint(self.db, endpoint, (
                f"Disabled automatically on {now:%d %b %Y, %H:%M} UTC: every call failed for "
                f"{duration_text(failing_for)} (last: {what})."))
            self.db.refresh(delivery)
            return Recorded(delivery.id, delivery.status, None, endpoint_disabled=True)
        first = self.db.scalar(select(func.min(MerchantDeliveryAttempt.started_at)).where(
            MerchantDeliveryAttempt.delivery_id == delivery.id)) or attempt.started_at
        if (now - first).total_seconds() >= self.policy.retry_window_s:
            delivery.status, delivery.next_attempt_at = Delivery.FAILED, None
            return Recorded(delivery.id, delivery.status, None)
        delivery.status = Delivery.RETRYING
        delivery.next_attempt_at = now + dt.timedelta(
            seconds=self.policy.backoff_s(delivery.attempts, self.rng))
        return Recorded(delivery.id, delivery.status, delivery.next_attempt_at)

    def due(self, *, overdue_s: float | None = None, limit: int = SWEEP_BATCH) -> list[int]:
        """Open deliveries due for ``overdue_s`` (default: the policy's
        ``resume_after_s``) or more: their task was lost, or never queued."""
        overdue = self.policy.resume_after_s if overdue_s is None else overdue_s
        cutoff = self.clock() - dt.timedelta(seconds=overdue)
        return list(self.db.scalars(
            select(MerchantDelivery.id)
            .where(MerchantDelivery.status.in_(OPEN), MerchantDelivery.next_attempt_at <= cutoff)
            .order_by(MerchantDelivery.next_attempt_at).limit(limit)))


class StepKind(StrEnum):
    """What one run of a delivery did."""

    SENT = "sent"  # ``recorded`` says how it went
    DEFERRED = "deferred"  # not before ``retry_at``
    NOTHING = "nothing"  # not due, or delivered already


@dataclass(frozen=True)
class Step:
    """What one run of a delivery did."""

    kind: StepKind
    recorded: Recorded | None = None
    retry_at: dt.datetime | None = None


class WebhookWorker:
    """Sends one delivery: claim (a transaction), call the shop's server with
    no transaction open, record (another transaction)."""

    def __init__(self, run_in_transaction: TransactionRunner, policy: WebhookPolicy,
                 sender: WebhookSender | None = None, *,
                 clock: Callable[[], dt.datetime] = utcnow, rng: random.Random | None = None):
        self.run = run_in_transaction
        self.policy = policy
        self.sender = sender or policy.sender()
        self.clock = clock
        self.rng = rng or random.Random()

    def _deliveries(self, session: Session) -> WebhookDeliveries:
        return WebhookDeliveries(session, self.policy, clock=self.clock, rng=self.rng)

    def run_one(self, delivery_id: int) -> Step:
        claimed = self.run(lambda session: self._deliveries(session).claim(delivery_id))
        if claimed is None:
            return Step(StepKind.NOTHING)
        if isinstance(claimed, Deferred):
            return Step(StepKind.DEFERRED, retry_at=claimed.until)
        outgoing = claimed
        try:
            result = self.sender.post(outgoing.url, outgoing.headers, outgoing.body)
        except Exception as error:  # noqa: BLE001 - recorded as a failed call, so it backs off
            result = SendResult(None, 0, f"{type(error).__name__}: {str(error)[:200]}")
        recorded = self.run(lambda session: self._deliveries(session).record(outgoing, result))
        return Step(StepKind.SENT, recorded, recorded.next_attempt_at)

    def due(self) -> list[int]:
        return self.run(lambda session: self._deliveries(session).due())
