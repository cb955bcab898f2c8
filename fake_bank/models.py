"""The fake bank's own tables, in its own database (it is another party: it
shares nothing with ours). Created with create_all: it is a test double, not a
product, so it has no migrations."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledgerlib import UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class Customer(Base):
    __tablename__ = "fb_customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    account_number: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80))
    balance_paise: Mapped[int] = mapped_column(BigInteger)


class Payment(Base):
    """Money a customer sends to the wallet company (a wallet deposit)."""

    __tablename__ = "fb_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))  # the wallet's deposit token
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, declined
    reason: Mapped[str] = mapped_column(String(200), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("fb_customers.id"))
    return_url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("bank_code", "reference"),)


class Delivery(Base):
    """A webhook to send to the wallet, retried with backoff until it gets a 2xx."""

    __tablename__ = "fb_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lost: Mapped[int] = mapped_column(Integer, default=0)  # "webhook lost" knob: never sent
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(300), default="")


class Payout(Base):
    """Money the wallet company pays out to a customer's account (a withdrawal)."""

    __tablename__ = "fb_payouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))  # the wallet's idempotency reference
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    account_number: Mapped[str] = mapped_column(String(18))
    ifsc: Mapped[str] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(16))  # accepted, rejected, reversed
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reverse_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("bank_code", "reference"),)


class ApiCall(Base):
    """Every payout API call as the bank saw it (start and end), so tests can
    check that calls about one customer never overlapped."""

    __tablename__ = "fb_api_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # payout, payout_status
    reference: Mapped[str] = mapped_column(String(64), index=True)
    account_number: Mapped[str] = mapped_column(String(18), default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: When the bank made its decision on the payout (the reply may come later).
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(String(32), default="")
