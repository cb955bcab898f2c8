"""Step-up before money moves: a user's wallet PIN, and their KYC details."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime
from ..pan_vault import mask_pan

IdType = BigInteger().with_variant(Integer(), "sqlite")


class WalletPin(Base):
    """A user's wallet PIN (a keyed hash, wallet.identity.pin_hashes; bcrypt from
    before until its next right entry) and its wrong tries. ``failed_tries`` is
    counted atomically (one UPDATE ... RETURNING, committed on its own:
    wallet.identity.pin_tries) *before* the PIN is checked, so parallel guesses cannot
    all slip under the limit; at the limit money movement is locked until
    ``locked_until``."""

    __tablename__ = "wallet_pins"

    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(String(100))
    failed_tries: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class KycRecord(Base):
    """What a user gave for full KYC, and who verified it when. The PAN is kept
    sealed (wallet.identity.pan_vault): encrypted under the key ``pan_key_id``, its
    keyed fingerprint unique (one PAN, one full-KYC wallet), and its last four
    characters for showing it masked."""

    __tablename__ = "kyc_records"

    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"), primary_key=True)
    name_on_pan: Mapped[str] = mapped_column(String(80))
    pan_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    pan_key_id: Mapped[str] = mapped_column(String(32))
    pan_fingerprint: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    pan_last4: Mapped[str] = mapped_column(String(4))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    verifier: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(80))
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    @property
    def pan_masked(self) -> str:
        return mask_pan(self.pan_last4)
