from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

import ledgerlib

from ..codes import Kind, Status
from .merchant import Merchant
from .meta import Base, UTCDateTime
from .user import IdType, User


def sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Transaction(Base):
    """One user-visible money movement (a transfer, a shop payment, a deposit, a
    withdrawal or a merchant's settlement), with its status (wallet.core.codes). The
    money itself moves in the ledger: ``ledger_entry_id`` points at the balanced
    entry once there is one.
    """

    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    payer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    payee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Payments go to a merchant; a merchant's settlement is paid by it.
    payee_merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    payer_merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    #: A payment to a shop: the store (outlet) it was paid at.
    payee_store_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_stores.id"))
    note: Mapped[str] = mapped_column(String(140), default="")
    #: Deposits and withdrawals: which bank (a key of the bank registry).
    bank_code: Mapped[str | None] = mapped_column(String(32))
    #: Deposits: the unguessable reference the bank knows this deposit by.
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Why a bank report about this transaction needs a human look, if it does.
    flag_reason: Mapped[str | None] = mapped_column(String(300))
    #: Why it failed, in the bank's words ("declined by customer"), or that the
    #: user cancelled it: shown to the user (flag_reason is for our staff).
    status_reason: Mapped[str | None] = mapped_column(String(200))
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # A Column, not a string: the ledger's tables live in ledgerlib's MetaData.
    ledger_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey(ledgerlib.tables.entries.c.id), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    payer: Mapped[User | None] = relationship(foreign_keys=[payer_user_id], lazy="joined")
    payee: Mapped[User | None] = relationship(foreign_keys=[payee_user_id], lazy="joined")
    payee_merchant: Mapped[Merchant | None] = relationship(foreign_keys=[payee_merchant_id],
                                                           lazy="joined")
    #: A refund is paid by a merchant (and a settlement too).
    payer_merchant: Mapped[Merchant | None] = relationship(foreign_keys=[payer_merchant_id],
                                                           lazy="joined")

    __table_args__ = (
        CheckConstraint("amount_paise > 0", name="amount_positive"),
        CheckConstraint(f"kind IN {sql_list(Kind.ALL)}", name="kind"),
        CheckConstraint(f"status IN {sql_list(Status.ALL)}", name="status"),
        Index("ix_transactions_payer_user_id_id", "payer_user_id", "id"),
        Index("ix_transactions_payee_user_id_id", "payee_user_id", "id"),
        Index("ix_transactions_kind_status_created_at", "kind", "status", "created_at"),
        Index("ix_transactions_payee_merchant_id_id", "payee_merchant_id", "id"),
        Index("ix_transactions_payer_merchant_id_id", "payer_merchant_id", "id"),
        # The database's own guard: at most one payout per user (merchant) at the bank.
        Index("uq_transactions_one_sending_withdrawal_per_user", "payer_user_id", unique=True,
              sqlite_where=text("kind = 'withdrawal' AND status = 'sending'"),
              postgresql_where=text("kind = 'withdrawal' AND status = 'sending'")),
        Index("uq_transactions_one_sending_withdrawal_per_merchant", "payer_merchant_id",
              unique=True,
              sqlite_where=text("kind = 'withdrawal' AND status = 'sending'"),
              postgresql_where=text("kind = 'withdrawal' AND status = 'sending'")),
        # "Has this sender paid this recipient before?" (a first payment: Transfers).
        Index("ix_transactions_transfer_pair", "payer_user_id", "payee_user_id",
              sqlite_where=text("kind = 'transfer'"),
              postgresql_where=text("kind = 'transfer'")),
    )
