"""What shops integrate with: API keys, payment requests and their refunds,
and webhooks to the shop's own server (endpoints, events, deliveries)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import expression

from ...core.codes import Delivery, Event, RequestStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class MerchantApiKey(Base):
    """A shop server's secret key for the API: only its SHA-256 is kept."""

    __tablename__ = "merchant_api_keys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: ``sk_live_`` (True) or ``sk_test_`` (False): which objects the key reaches
    #: (wallet.merchants.modes).
    livemode: Mapped[bool] = mapped_column(Boolean, default=True,
                                           server_default=expression.true())


class PaymentRequest(Base):
    """A shop asks a customer for an amount; paid at most once, at checkout."""

    __tablename__ = "payment_requests"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "pr_…": the id the shop and the checkout URL know it by (unguessable).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    #: The shop's own order reference, unique per shop.
    order_reference: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(140))
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    return_url: Mapped[str | None] = mapped_column(String(500))
    #: SHA-256 of what the shop asked for: the same order again is replayed,
    #: the same order reference with other content refused.
    request_sha256: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    payer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The payment (a ``transactions`` row of kind payment) once paid.
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"),
                                                       unique=True)
    #: The store it is paid at (wallet.merchants.stores; NULL: the shop's first).
    store_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_stores.id"))
    #: The payment link it was made for (wallet.merchants.payment_links), if any.
    payment_link_id: Mapped[int | None] = mapped_column(ForeignKey("payment_links.id"),
                                                        index=True)
    #: False: a test request (wallet.merchants.modes), paid only at the test
    #: checkout; never a ``transactions`` row or a ledger posting.
    livemode: Mapped[bool] = mapped_column(Boolean, default=True,
                                           server_default=expression.true())
    #: "tpay_…": a test request's simulated payment (its stand-in for a transaction).
    test_payment_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint("merchant_id", "order_reference"),
        CheckConstraint("amount_paise > 0", name="amount_positive"),
        # A live request has no simulated payment; a test one never a real one.
        CheckConstraint("(livemode AND test_payment_id IS NULL) "
                        "OR (NOT livemode AND transaction_id IS NULL)", name="mode_payment"),
        CheckConstraint(f"status IN {_sql_list(RequestStatus.ALL)}", name="status"),
        Index("ix_payment_requests_merchant_id_id", "merchant_id", "id"),
        Index("ix_payment_requests_status_expires_at", "status", "expires_at"),
    )


class Refund(Base):
    """Money a shop gives back against one of its payments (partial or full)."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    #: The payment refunded (kind payment), and the refund's own transaction
    #: (both None for a test refund: no money moved).
    payment_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"),
                                                               index=True)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"),
                                                       unique=True)
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(140))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: False: a test refund of a test payment request (named here instead).
    livemode: Mapped[bool] = mapped_column(Boolean, default=True,
                                           server_default=expression.true())
    payment_request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_requests.id"),
                                                           index=True)

    __table_args__ = (
        CheckConstraint("amount_paise > 0", name="amount_positive"),
        # A live refund moved money (its transactions); a test one none.
        CheckConstraint("(livemode AND transaction_id IS NOT NULL "
                        "AND payment_transaction_id IS NOT NULL) "
                        "OR (NOT livemode AND transaction_id IS NULL "
                        "AND payment_transaction_id IS NULL AND payment_request_id IS NOT NULL)",
                        name="mode_money"),
    )


class MerchantEndpoint(Base):
    """A URL on the shop's server that gets signed webhooks (Standard Webhooks)."""

    __tablename__ = "merchant_endpoints"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    #: Space-separated event types it wants (wallet.core.codes.Event); room
    #: for all of them (305 characters at 17 types) and more.
    events: Mapped[str] = mapped_column(String(1000))
    #: "whsec_…": signs every message. The previous one keeps signing too
    #: until ``previous_secret_until`` (rotation without a gap).
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean)
    disabled_reason: Mapped[str] = mapped_column(String(300), default="")
    #: When it started failing, if it is failing now (cleared by a success).
    failing_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MerchantEvent(Base):
    """Something that happened, for a shop's endpoints: written in the same
    database transaction as what happened (an outbox), sent after commit."""

    __tablename__ = "merchant_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "msg_…": the Standard Webhooks ``webhook-id``, the same on every retry.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: False: about a test object (its payload says ``"livemode": false``).
    livemode: Mapped[bool] = mapped_column(Boolean, default=True,
                                           server_default=expression.true())

    __table_args__ = (CheckConstraint(f"type IN {_sql_list(Event.ALL)}", name="type"),)


class MerchantDelivery(Base):
    """One event on its way to one endpoint."""

    __tablename__ = "merchant_deliveries"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("merchant_events.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("merchant_endpoints.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"status IN {_sql_list(Delivery.ALL)}", name="status"),
        Index("ix_merchant_deliveries_endpoint_id_id", "endpoint_id", "id"),
        Index("ix_merchant_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )


class MerchantDeliveryAttempt(Base):
    """Every call to a shop's endpoint: when, what it answered, how long it took."""

    __tablename__ = "merchant_delivery_attempts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("merchant_deliveries.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(300), default="")
