"""Webhooks to shops' servers, signed per the Standard Webhooks specification.

What happened is written in the same database transaction as an event and one
delivery per endpoint that wants it (the outbox, wallet.merchants.events); the
workers send the deliveries after commit, each on its own, so a slow or dead
server holds up nothing but its own deliveries. This module holds:

- **endpoints** (:class:`MerchantWebhooks`): a shop's URLs and the events each
  wants, a ``whsec_`` secret per endpoint (rotated with a grace period during
  which the old secret signs too), enable/disable, the delivery log, resend;
- **signing** (:func:`sign`): ``webhook-signature: v1,<base64 HMAC-SHA256>``
  over ``"<webhook-id>.<webhook-timestamp>.<body>"`` keyed by the base64-decoded
  secret after ``whsec_``; several space-separated during a rotation;
- **the delivery state machine** (:class:`WebhookDeliveries`), driven by a
  worker (:class:`WebhookWorker`: claim, send with no transaction open, record):

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

import base64
import datetime as dt
import hashlib
import hmac
import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..core.codes import Delivery, Event, utcnow
from ..core.tasks import NoTaskQueue, TaskQueue, TransactionRunner, after_commit
from .errors import DeliveryNotFound, EndpointNotFound, WebhookError
from .models import MerchantDelivery, MerchantDeliveryAttempt, MerchantEndpoint, MerchantEvent
from .webhook_sender import SendResult, UnsafeDestination, WebhookSender, check_url

SECRET_PREFIX: Final = "whsec_"
SECRET_BYTES: Final = 32
MAX_ENDPOINTS_PER_SHOP: Final = 10
MAX_URL_CHARS: Final = 500
#: A claim's lease: the call's timeout and this margin for the bookkeeping.
LEASE_MARGIN_S: Final = 15.0
#: The in-flight mark of an attempt until its outcome is recorded.
IN_FLIGHT: Final = "in flight"
DISABLED_BY_SHOP: Final = "Disabled by you."
LOG_PAGE: Final = 50
SWEEP_BATCH: Final = 500
OPEN: Final = (Delivery.PENDING, Delivery.RETRYING)


@dataclass(frozen=True)
class WebhookPolicy:
    """Limits of webhook sending (wallet.settings, with their units)."""

    timeout_s: float = 10.0
    max_response_bytes: int = 64 * 1024
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 3600.0
    retry_window_s: float = 3 * 24 * 3600.0
    disable_after_s: float = 5 * 24 * 3600.0
    secret_grace_s: float = 24 * 3600.0
    resume_after_s: float = 120.0
    allow_private_urls: bool = False
    require_https: bool = True


    def sender(self) -> WebhookSender:
        return WebhookSender(timeout_s=self.timeout_s,
                             max_response_bytes=self.max_response_bytes,
                             allow_private=self.allow_private_urls)

    def backoff_s(self, attempts: int, rng: random.Random) -> float:
        """The wait after the ``attempts``-th failed try: min(cap, base·2^(n-1))
        times a jitter of 0.5 to 1.5 (so a shop's retries do not come in waves)."""
        exponent = min(max(attempts - 1, 0), 62)
        delay_s: float = min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** exponent)
        return delay_s * (0.5 + rng.random())

    @property
    def lease_s(self) -> float:
        return self.timeout_s + LEASE_MARGIN_S


# ------------------------------------------------------------------ signing


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64 (the Standard Webhooks form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX):])


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "<msg_id>.<timestamp>.<body>")>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(signing_secrets: Sequence[str], msg_id: str, timestamp: int,
                   body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers, with one signature per valid secret."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign(secret, msg_id, timestamp, body)
                                          for secret in signing_secrets)}


def signing_secrets(endpoint: MerchantEndpoint, now: dt.datetime) -> list[str]:
    """The current secret, and the previous one while its grace lasts."""
    found = [endpoint.secret]
    if (endpoint.previous_secret and endpoint.previous_secret_until is not None
            and endpoint.previous_secret_until > now):
        found.append(endpoint.previous_secret)
    return found


def parse_events(values: Iterable[str]) -> str:
    """The stored form (space-separated, in a fixed order) of the event types
    chosen; at least one, all of wallet.core.codes.Event."""
    chosen = {value.strip() for value in values if value.strip()}
    unknown = chosen - set(Event.ALL)
    if unknown:
        raise WebhookError(f"Not an event: {', '.join(sorted(unknown))}.", "events")
    if not chosen:
        raise WebhookError("Choose at least one event.", "events")
    return " ".join(event for event in Event.ALL if event in chosen)


def duration_text(seconds: float) -> str:
    """``5 days``, ``3 hours``, ``20 minutes``, ``45 seconds``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = round(seconds)
    return f"{count} second{'s' if count != 1 else ''}"


# ------------------------------------------------------ the shop's endpoints


@dataclass(frozen=True)
class LogLine:
    """One delivery in an endpoint's log."""

    delivery: MerchantDelivery
    event: MerchantEvent
    last_latency_ms: int | None


@dataclass(frozen=True)
class LogPage:
    lines: list[LogLine]
    next_cursor: int | None


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: MerchantDelivery
    event: MerchantEvent
    endpoint: MerchantEndpoint
    attempts: list[MerchantDeliveryAttempt] = field(default_factory=list)


class MerchantWebhooks:
    """A shop's endpoints, as the merchant app manages them."""

    def __init__(self, dbsession: Session, policy: WebhookPolicy, *,
                 tasks: TaskQueue | None = None, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.tasks: TaskQueue = tasks or NoTaskQueue()
        self.clock = clock

    def endpoints(self, merchant_id: int) -> list[MerchantEndpoint]:
        return list(self.db.scalars(select(MerchantEndpoint).where(
            MerchantEndpoint.merchant_id == merchant_id).order_by(MerchantEndpoint.id)))

    def endpoint(self, merchant_id: int, endpoint_id: int, *,
                 lock: bool = False) -> MerchantEndpoint:
        stmt = select(MerchantEndpoint).where(MerchantEndpoint.id == endpoint_id,
                                              MerchantEndpoint.merchant_id == merchant_id)
        if lock:
            stmt = (stmt.with_for_update(key_share=True)
                    .execution_options(populate_existing=True))
        endpoint = self.db.scalar(stmt)
        if endpoint is None:
            raise EndpointNotFound("No such webhook endpoint.")
        return endpoint

    def check_url(self, url: str) -> str:
        try:
            return check_url(url, require_https=self.policy.require_https,
                             allow_private=self.policy.allow_private_urls,
                             max_chars=MAX_URL_CHARS)
        except UnsafeDestination as refused:
            raise WebhookError(str(refused), "url") from None

    def create(self, merchant_id: int, url: str, events: Iterable[str]) -> MerchantEndpoint:
        """A new enabled endpoint with a new secret."""
        url = self.check_url(url)
        chosen = parse_events(events)
        count = self.db.scalar(select(func.count()).select_from(MerchantEndpoint).where(
            MerchantEndpoint.merchant_id == merchant_id)) or 0
        if count >= MAX_ENDPOINTS_PER_SHOP:
            raise WebhookError(f"A shop has at most {MAX_ENDPOINTS_PER_SHOP} endpoints.")
        endpoint = MerchantEndpoint(merchant_id=merchant_id, url=url, events=chosen,
                                    secret=new_secret(), enabled=True, disabled_reason="",
                                    created_at=self.clock())
        self.db.add(endpoint)
        self.db.flush()
        return endpoint

    def update_events(self, merchant_id: int, endpoint_id: int,
                      events: Iterable[str]) -> MerchantEndpoint:
        chosen = parse_events(events)
        endpoint = self.endpoint(merchant_id, endpoint_id, lock=True)
        endpoint.events = chosen
        return endpoint

    def rotate_secret(self, merchant_id: int, endpoint_id: int) -> MerchantEndpoint:
        """A new secret; the one it replaces keeps signing (both signatures are
        sent) for the grace period, while the shop's server switches over."""
        endpoint = self.endpoint(merchant_id, endpoint_id, lock=True)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = self.clock() + dt.timedelta(
            seconds=self.policy.secret_grace_s)
        endpoint.secret = new_secret()
        return endpoint

    def disable(self, merchant_id: int, endpoint_id: int) -> MerchantEndpoint:
        endpoint = self.endpoint(merchant_id, endpoint_id, lock=True)
        if endpoint.enabled:
            disable_endpoint(self.db, endpoint, DISABLED_BY_SHOP)
        return endpoint

    def enable(self, merchant_id: int, endpoint_id: int) -> MerchantEndpoint:
        """Enabled again, with a clean record; what failed meanwhile can be resent."""
        endpoint = self.endpoint(merchant_id, endpoint_id, lock=True)
        endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, "", None
        return endpoint

    def disabled_by_failures(self, merchant_id: int) -> list[MerchantEndpoint]:
        """Endpoints we disabled because they kept failing (the dashboard's notice)."""
        return list(self.db.scalars(select(MerchantEndpoint).where(
            MerchantEndpoint.merchant_id == merchant_id, MerchantEndpoint.enabled.is_(False),
            MerchantEndpoint.disabled_reason != DISABLED_BY_SHOP)
            .order_by(MerchantEndpoint.id)))

    # ------------------------------------------------------------- the log

    def log(self, merchant_id: int, endpoint_id: int, *, cursor: int | None = None,
            limit: int = LOG_PAGE) -> LogPage:
        """The endpoint's deliveries, newest first, with each one's latest latency."""
        self.endpoint(merchant_id, endpoint_id)
        stmt = (select(MerchantDelivery, MerchantEvent)
                .join(MerchantEvent, MerchantEvent.id == MerchantDelivery.event_id)
                .where(MerchantDelivery.endpoint_id == endpoint_id)
                .order_by(MerchantDelivery.id.desc()).limit(limit + 1))
        if cursor is not None:
            stmt = stmt.where(MerchantDelivery.id < cursor)
        rows = [(delivery, event) for delivery, event in self.db.execute(stmt)]
        page = rows[:limit]
        latencies: dict[int, int] = {}
        if page:
            for delivery_id, latency_ms, error in self.db.execute(
                    select(MerchantDeliveryAttempt.delivery_id,
                           MerchantDeliveryAttempt.latency_ms, MerchantDeliveryAttempt.error)
                    .where(MerchantDeliveryAttempt.delivery_id.in_([d.id for d, _ in page]))
                    .order_by(MerchantDeliveryAttempt.id)):
                if error != IN_FLIGHT:
                    latencies[delivery_id] = latency_ms
        return LogPage([LogLine(d, e, latencies.get(d.id)) for d, e in page],
                       page[-1][0].id if len(rows) > limit else None)

    def delivery(self, merchant_id: int, delivery_id: int) -> DeliveryDetail:
        found = self.db.execute(
            select(MerchantDelivery, MerchantEvent, MerchantEndpoint)
            .join(MerchantEvent, MerchantEvent.id == MerchantDelivery.event_id)
            .join(MerchantEndpoint, MerchantEndpoint.id == MerchantDelivery.endpoint_id)
            .where(MerchantDelivery.id == delivery_id,
                   MerchantEndpoint.merchant_id == merchant_id)).first()
        if found is None:
            raise DeliveryNotFound("No such delivery.")
        delivery, event, endpoint = found
        attempts = list(self.db.scalars(select(MerchantDeliveryAttempt).where(
            MerchantDeliveryAttempt.delivery_id == delivery.id)
            .order_by(MerchantDeliveryAttempt.id)))
        return DeliveryDetail(delivery, event, endpoint, attempts)

    def resend(self, merchant_id: int, delivery_id: int) -> MerchantDelivery:
        """The same event (same ``webhook-id`` and body) to the same endpoint
        again, as a new delivery sent at once after commit."""
        detail = self.delivery(merchant_id, delivery_id)
        if not detail.endpoint.enabled:
            raise WebhookError("This endpoint is disabled: enable it first.")
        now = self.clock()
        again = MerchantDelivery(event_id=detail.event.id, endpoint_id=detail.endpoint.id,
                                 status=Delivery.PENDING, attempts=0, next_attempt_at=now,
                                 last_error="", created_at=now)
        self.db.add(again)
        self.db.flush()
        ids = [again.id]
        after_commit(self.db, lambda: self.tasks.webhooks_due(ids))
        return again


def disable_endpoint(db: Session, endpoint: MerchantEndpoint, reason: str) -> None:
    """Disable a (locked) endpoint: its open deliveries fail now."""
    endpoint.enabled, endpoint.disabled_reason = False, reason[:300]
    db.execute(update(MerchantDelivery)
               .where(MerchantDelivery.endpoint_id == endpoint.id,
                      MerchantDelivery.status.in_(OPEN))
               .values(status=Delivery.FAILED, next_attempt_at=None,
                       last_error="endpoint disabled")
               .execution_options(synchronize_session="fetch"))


# --------------------------------------------------- the delivery state machine


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


__all__ = ["DeliveryDetail", "LogLine", "LogPage", "MerchantWebhooks", "Outgoing", "Recorded",
           "Step", "WebhookDeliveries", "WebhookPolicy", "WebhookWorker", "new_secret", "sign",
           "signed_headers"]
