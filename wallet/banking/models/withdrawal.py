from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import AttemptKind, AttemptOutcome, payout_reference
from ...core.models.meta import Base, UTCDateTime
from ...core.models.transaction import sql_list
from ...core.models.user import IdType


class Withdrawal(Base):
    """Payout details of a withdrawal; its status is on its Transaction row."""

    __tablename__ = "withdrawals"

    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), primary_key=True)
    #: Whose money: a user's withdrawal or a merchant's settlement.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    account_number: Mapped[str] = mapped_column(String(18))
    ifsc: Mapped[str] = mapped_column(String(11))
    #: The ledger hold that keeps the money out of the available balance.
    hold_id: Mapped[int] = mapped_column(BigInteger)
    #: Not before this time (backoff after an unclear answer from the bank).
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failure_reason: Mapped[str] = mapped_column(String(300), default="")

    @property
    def reference(self) -> str:
        """Our idempotency reference at the bank: the same for every retry."""
        return payout_reference(self.transaction_id)

    @property
    def masked_account(self) -> str:
        return f"a/c ••{self.account_number[-4:]}"


class PayoutAttempt(Base):
    """Every call to a bank about a payout, written *before* the call is made,
    so a worker that dies mid-call leaves a trace ("has it reached the bank?")."""

    __tablename__ = "payout_attempts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # AttemptKind
    outcome: Mapped[str] = mapped_column(String(16))  # AttemptOutcome
    request: Mapped[str] = mapped_column(Text)
    response: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    latency_ms: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(f"kind IN {sql_list(tuple(AttemptKind))}", name="kind"),
        CheckConstraint(f"outcome IN {sql_list(tuple(AttemptOutcome))}", name="outcome"),
    )


class PayoutLane(Base):
    """A lease per wallet owner ("user:5", "merchant:3"): the worker holding it is
    the only one sending that owner's payouts. It expires, so a crashed worker's
    lane heals by itself."""

    __tablename__ = "payout_lanes"

    owner: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
