"""Phone verification (wallet.identity.phone_codes): one-time codes sent by
SMS, the development outbox of SMS (wallet.identity.sms), and the devices a
user has signed in from (wallet.identity.devices)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import OtpPurpose, OtpStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.transaction import sql_list
from ...core.models.user import IdType


class OtpCode(Base):
    """One flow proving a phone: its current code (only an HMAC-SHA256 of it,
    keyed by ``wallet.otp_secret``), the wrong tries against it, how many
    codes it sent. ``token`` names the flow to whoever started it (a page's
    session, the API's ``verification_id``). A sign-up's name and password
    hash wait here until the code is right: no account exists unverified."""

    __tablename__ = "otp_codes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token: Mapped[str] = mapped_column(String(48), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(16))
    #: Whose account a reset is for (None: a sign-up, or a phone without one).
    user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    failed_tries: Mapped[int] = mapped_column(Integer)
    #: Codes sent on this flow (the first and each resend): the hourly limit counts them.
    sends: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signup_name: Mapped[str | None] = mapped_column(String(80))
    signup_password_hash: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        CheckConstraint(f"purpose IN {sql_list(OtpPurpose.ALL)}", name="purpose"),
        CheckConstraint(f"status IN {sql_list(OtpStatus.ALL)}", name="status"),
        # The hourly limit's question: this phone's recent sends.
        Index("ix_otp_codes_phone_sent_at", "phone", "sent_at"),
    )


class SmsOutbox(Base):
    """Development only: the SMS the fake gateway "sent" (the outbox page
    shows them). Production refuses that gateway, so no code is kept in clear."""

    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)
    text: Mapped[str] = mapped_column(String(480))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class KnownDevice(Base):
    """A browser a user has signed in from: the SHA-256 of the random id in
    its long-lived device cookie."""

    __tablename__ = "known_devices"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    device_sha256: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200))
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "device_sha256"),)
