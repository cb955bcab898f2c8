"""What a shop's settlements need beyond its password: the bank accounts it
registered (settlements go there and nowhere else) and its shop PIN."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


class MerchantBankAccount(Base):
    """A bank account a shop registered for its settlements. Removing one
    keeps its row (``removed_at``): past settlements still name it. A new one
    takes settlements from ``usable_from`` on (the cooling-off period)."""

    __tablename__ = "merchant_bank_accounts"
    __table_args__ = (
        # The same account twice at once is one account.
        Index("uq_merchant_bank_accounts_live", "merchant_id", "bank_code", "account_number",
              unique=True, sqlite_where=text("removed_at IS NULL"),
              postgresql_where=text("removed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    account_number: Mapped[str] = mapped_column(String(18))
    ifsc: Mapped[str] = mapped_column(String(11))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    usable_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def masked(self) -> str:
        """The account number as shown: its last four digits."""
        return "••••" + self.account_number[-4:]
