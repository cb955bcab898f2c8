"""Payment links (wallet.merchants.payment_links): a shop's shareable URL
and QR that customers pay through the checkout of payment requests, for a
fixed amount or one they enter (within the link's minimum and maximum),
once or many times, until it expires or the shop cancels it."""
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
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import LinkAmountMode, LinkStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


#: A fixed link has its amount and no range; an open one a range (each end
#: optional) and no amount.
AMOUNTS_CHECK = (
    "(amount_mode = 'fixed' AND amount_paise IS NOT NULL AND amount_paise > 0"
    " AND min_paise IS NULL AND max_paise IS NULL)"
    " OR (amount_mode = 'open' AND amount_paise IS NULL"
    " AND (min_paise IS NULL OR min_paise > 0)"
    " AND (max_paise IS NULL OR max_paise >= COALESCE(min_paise, 1)))")


class PaymentLink(Base):
    """One shop's payment link; its payments are payment requests that name
    it (``payment_requests.payment_link_id``)."""

    __tablename__ = "payment_links"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "plink_…": the id in its URL (/l/<id>) and the API (unguessable).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    #: The store it was made for (None: the shop's first store).
    store_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_stores.id"))
    amount_mode: Mapped[str] = mapped_column(String(8))
    amount_paise: Mapped[int | None] = mapped_column(BigInteger)
    min_paise: Mapped[int | None] = mapped_column(BigInteger)
    max_paise: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(140))
    #: The shop's own reference, unique in the shop when given.
    reference: Mapped[str | None] = mapped_column(String(40))
    single_use: Mapped[bool] = mapped_column(Boolean)
    #: Always true for now: test-mode keys (sk_test_) come with their own links.
    livemode: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    status: Mapped[str] = mapped_column(String(16))
    #: Payments made through it, and their sum.
    uses_count: Mapped[int] = mapped_column(Integer)
    paid_paise: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("merchant_id", "reference"),
        CheckConstraint(f"status IN {_sql_list(LinkStatus.ALL)}", name="status"),
        CheckConstraint(f"amount_mode IN {_sql_list(LinkAmountMode.ALL)}", name="amount_mode"),
        CheckConstraint(AMOUNTS_CHECK, name="amounts"),
        CheckConstraint("uses_count >= 0 AND paid_paise >= 0", name="counts"),
        CheckConstraint("NOT single_use OR uses_count <= 1", name="single_use_once"),
        Index("ix_payment_links_merchant_id_id", "merchant_id", "id"),
        Index("ix_payment_links_status_expires_at", "status", "expires_at"),
    )
