"""The people of a shop (wallet.merchants.staff): each signs in to the
merchant app with a login and a role of their own; the shop's own login
(``merchants.email``) stays its owner. Here, below wallet.identity, because
their sessions (wallet.identity.web_sessions) are read with them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from ..codes import StaffStatus
from .merchant import Merchant
from .meta import Base, UTCDateTime
from .user import IdType

#: ``merchant_staff.role``: wallet.merchants.roles.Role's words (a test compares).
STAFF_ROLES = ("owner", "manager", "cashier")


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class MerchantStaff(Base):
    """A person of a shop: invited by email or phone with a role, active once
    they set a password from the invitation's link, removed by an owner."""

    __tablename__ = "merchant_staff"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    name: Mapped[str] = mapped_column(String(80))
    #: How they sign in: an email (lowercase) or an Indian mobile (+91…), or both.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    #: NULL until the invitation is accepted.
    password_hash: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    #: The invitation link's single-use token, as its SHA-256, and its end.
    invite_token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Who invited them (NULL: the shop's own login).
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("merchant_staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    #: The shop, read with a session (wallet.identity.web_sessions) in the same query.
    merchant: Mapped[Merchant] = relationship(lazy="raise_on_sql", foreign_keys=[merchant_id])
    #: Their stores' ids, comma-separated: only where a query asks for it
    #: (the session's read, with_expression); None otherwise.
    store_list: Mapped[str | None] = query_expression()

    __table_args__ = (
        CheckConstraint(f"role IN {_sql_list(STAFF_ROLES)}", name="role"),
        CheckConstraint(f"status IN {_sql_list(StaffStatus.ALL)}", name="status"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="contact"),
        # (Named: the naming convention would give both the first column's name.)
        UniqueConstraint("merchant_id", "email", name="uq_merchant_staff_merchant_id_email"),
        UniqueConstraint("merchant_id", "phone", name="uq_merchant_staff_merchant_id_phone"),
        Index("ix_merchant_staff_merchant_id_id", "merchant_id", "id"),
    )

    @property
    def is_active(self) -> bool:
        """Signs in: accepted, not removed, and the shop itself not disabled."""
        return self.status == StaffStatus.ACTIVE and self.merchant.is_active


class MerchantStaffStore(Base):
    """A store a manager or a cashier works at (an owner has them all)."""

    __tablename__ = "merchant_staff_stores"

    staff_id: Mapped[int] = mapped_column(ForeignKey("merchant_staff.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("merchant_stores.id"), primary_key=True)


class MerchantStaffAction(Base):
    """What a person of a shop did (a refund, a settlement, a key, a setting,
    a change of staff): append-only, for the owner to look back at."""

    __tablename__ = "merchant_staff_actions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    #: NULL: the shop's own login (its owner).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_staff.id"))
    #: What was done (wallet.merchants.staff.StaffAction's words, or a caller's own).
    action: Mapped[str] = mapped_column(String(40))
    #: What it was done to: "payment 1234", "key 7", "Ravi"...
    subject: Mapped[str] = mapped_column(String(120))
    detail: Mapped[str] = mapped_column(String(300))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_merchant_staff_actions_merchant_id_id", "merchant_id", "id"),)
