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
- the delivery state machine is in wallet.merchants.webhook_deliveries.
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
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..core.codes import Delivery, Event, utcnow
from ..core.tasks import NoTaskQueue, TaskQueue, after_commit
from .errors import DeliveryNotFound, EndpointNotFound, WebhookError
from .models import MerchantDelivery, MerchantDeliveryAttempt, MerchantEndpoint, MerchantEvent
from .modes import in_mode
from .webhook_sender import UnsafeDestination, WebhookSender, check_url

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
            limit: int = LOG_PAGE, livemode: bool = True) -> LogPage:
        """The endpoint's deliveries of one mode's events, newest first, with
        each one's latest latency."""
        self.endpoint(merchant_id, endpoint_id)
        stmt = (select(MerchantDelivery, MerchantEvent)
                .join(MerchantEvent, MerchantEvent.id == MerchantDelivery.event_id)
                .where(MerchantDelivery.endpoint_id == endpoint_id,
                       in_mode(MerchantEvent, livemode))
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

    def delivery(self, merchant_id: int, delivery_id: int, *,
                 livemode: bool = True) -> DeliveryDetail:
        found = self.db.execute(
            select(MerchantDelivery, MerchantEvent, MerchantEndpoint)
            .join(MerchantEvent, MerchantEvent.id == MerchantDelivery.event_id)
            .join(MerchantEndpoint, MerchantEndpoint.id == MerchantDelivery.endpoint_id)
            .where(MerchantDelivery.id == delivery_id,
                   MerchantEndpoint.merchant_id == merchant_id,
                   in_mode(MerchantEvent, livemode))).first()
        if found is None:
            raise DeliveryNotFound("No such delivery.")
        delivery, event, endpoint = found
        attempts = list(self.db.scalars(select(MerchantDeliveryAttempt).where(
            MerchantDeliveryAttempt.delivery_id == delivery.id)
            .order_by(MerchantDeliveryAttempt.id)))
        return DeliveryDetail(delivery, event, endpoint, attempts)

    def resend(self, merchant_id: int, delivery_id: int, *,
               livemode: bool = True) -> MerchantDelivery:
        """The same event (same ``webhook-id`` and body) to the same endpoint
        again, as a new delivery sent at once after commit."""
        detail = self.delivery(merchant_id, delivery_id, livemode=livemode)
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


__all__ = ["DeliveryDetail", "LogLine", "LogPage", "MerchantWebhooks", "WebhookPolicy",
           "disable_endpoint", "new_secret", "sign", "signed_headers", "signing_secrets"]
