"""A user's saved bank accounts: where their withdrawals may go without the
details typed again (wallet.banking.saved_accounts)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


class UserBankAccount(Base):
    """A bank account a user saved for withdrawals, with the holder's name as
    the bank reported it when it was added. Removing one keeps its row
    (``removed_at``)."""

    __tablename__ = "user_bank_accounts"
    __table_args__ = (
        # The same account saved twice at once is one account.
        Index("uq_user_bank_accounts_live", "user_id", "bank_code", "account_number",
              unique=True, sqlite_where=text("removed_at IS NULL"),
              postgresql_where=text("removed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    account_number: Mapped[str] = mapped_column(String(18))
    ifsc: Mapped[str] = mapped_column(String(11))
    #: The account holder's name as the bank answered it (never typed by the user).
    holder_name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def masked(self) -> str:
        """The account number as shown: its last four digits."""
        return "••••" + self.account_number[-4:]
