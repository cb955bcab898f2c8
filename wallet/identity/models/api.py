from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


class ApiToken(Base):
    """A device's bearer token for the JSON API. Only its SHA-256 is kept: the
    token itself is shown once, when it is issued."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The device it was issued to, as the user named it ("Asha's Pixel").
    device_name: Mapped[str] = mapped_column(String(80))
    #: The first characters of the token, to tell tokens apart in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: For the user's list of devices: the app's User-Agent and address when it was issued.
    user_agent: Mapped[str] = mapped_column(String(200), default="", server_default="")
    ip: Mapped[str] = mapped_column(String(64), default="", server_default="")
