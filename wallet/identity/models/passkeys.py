"""Passkeys (WebAuthn credentials) people sign in with, and the one-use
challenges of their ceremonies (wallet.identity.passkeys)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import PasskeyPurpose
from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Passkey(Base):
    """One of a user's passkeys: the authenticator's credential id and
    public key (COSE), and its signature counter as last seen."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    #: The authenticator's counter at its last use: a lower or equal one is refused.
    sign_count: Mapped[int] = mapped_column(BigInteger)
    #: How the browser reaches it ("internal,hybrid"), handed back when listing it.
    transports: Mapped[str] = mapped_column(String(100))
    #: The WebAuthn user handle the authenticator keeps with it (random, the same
    #: for all of a user's passkeys).
    user_handle: Mapped[bytes] = mapped_column(LargeBinary(64))
    name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("sign_count >= 0", name="sign_count"),
    )


class PasskeyChallenge(Base):
    """A challenge handed to a browser for one ceremony: deleted when used
    (so never used twice), refused after ``expires_at``."""

    __tablename__ = "passkey_challenges"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    challenge_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: register or sign_in (wallet.core.codes.PasskeyPurpose).
    purpose: Mapped[str] = mapped_column(String(16))
    #: Whose passkey is being added (None: a sign-in, anyone's).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The user handle the registration options gave (kept with the passkey made).
    user_handle: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        CheckConstraint(f"purpose IN {_sql_list(PasskeyPurpose.ALL)}", name="purpose"),
    )
