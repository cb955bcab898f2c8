"""Signed-in sessions of the page apps (wallet.identity.web_sessions): the server's
record of each browser's sign-in, so that signing out, "sign out everywhere
else" and a password change end it for good, whatever copy of the cookie is
still around."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


class WebSession(Base):
    """One sign-in of a user, a shop or an operator to its page app. The
    cookie carries a random token; only its SHA-256 is kept here."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: user, merchant, operator or staff (wallet.identity.web_sessions.PrincipalKind).
    principal_kind: Mapped[str] = mapped_column(String(16))
    principal_id: Mapped[int] = mapped_column(IdType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: Written at most once a minute (wallet.core.credentials.TOUCH_EVERY).
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: The absolute end, however active the session is.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Why it was ended (wallet.identity.web_sessions.EndReason).
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    #: For a list of the principal's devices: the browser and address at sign-in.
    user_agent: Mapped[str] = mapped_column(String(200))
    ip: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("principal_kind IN ('user', 'merchant', 'operator', 'staff')",
                        name="principal_kind"),
        Index("ix_web_sessions_principal", "principal_kind", "principal_id"),
    )
