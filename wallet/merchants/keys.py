"""Secret API keys for shops' servers: ``sk_live_`` (or ``sk_test_`` for test
mode, wallet.merchants.modes) and 43 random characters
(``secrets.token_urlsafe(32)``), shown once when issued and kept only as a
SHA-256, with a visible prefix to tell keys apart. A shop may hold several
live keys at once, so it can rotate them without a gap: issue a new key, move
its servers to it, revoke the old one. Every request looks its key up in the
database, so a revoked key is refused by every process at once."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from ..core.codes import utcnow
from ..core.credentials import TOUCH_EVERY as TOUCH_EVERY  # (re-exported: the tests read it)
from ..core.credentials import due_for_touch, new_secret, secret_sha256
from ..core.errors import WalletError
from ..core.models import Merchant
from ..core.text import is_ordinary, one_line
from .models import MerchantApiKey
from .modes import in_mode, mode_word

KEY_PREFIX = "sk_live_"
TEST_KEY_PREFIX = "sk_test_"
#: sk_live_ or sk_test_ + 43 characters of secrets.token_urlsafe(32).
_KEY = re.compile(r"sk_(live|test)_[A-Za-z0-9_-]{43}", re.ASCII)
#: What is shown of a key in lists: sk_live_ and its first 8 random characters.
PREFIX_CHARS = 16
MAX_NAME_CHARS = 80
#: Live (unrevoked) keys a shop may hold at once: enough to rotate, not a pile.
MAX_LIVE_KEYS = 10


@dataclass(frozen=True)
class IssuedKey:
    secret: str  # shown once, never stored
    record: MerchantApiKey


key_sha256 = secret_sha256


def looks_like_key(value: str | None) -> bool:
    """Whether a bearer credential is meant as a merchant key (by its prefix)."""
    return bool(value) and str(value).startswith((KEY_PREFIX, TEST_KEY_PREFIX))


class MerchantKeys:
    def __init__(self, dbsession: Session, *, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.clock = clock

    def issue(self, merchant: Merchant, name: str, *, livemode: bool = True) -> IssuedKey:
        """A new key for the shop (``livemode`` False: an ``sk_test_`` key);
        its secret is in the answer only. At most MAX_LIVE_KEYS unrevoked of
        each mode."""
        name = one_line(name)
        if not name:
            raise WalletError("Name the key, like \"web shop server\".", "name")
        if len(name) > MAX_NAME_CHARS or not is_ordinary(name):
            raise WalletError(f"Use up to {MAX_NAME_CHARS} ordinary characters.", "name")
        live = self.db.scalar(select(func.count()).select_from(MerchantApiKey).where(
            MerchantApiKey.merchant_id == merchant.id, MerchantApiKey.revoked_at.is_(None),
            in_mode(MerchantApiKey, livemode)))
        if (live or 0) >= MAX_LIVE_KEYS:
            raise WalletError(f"You have {MAX_LIVE_KEYS} {mode_word(livemode)} keys: revoke one "
                              "you no longer use first.", "name")
        secret = new_secret(KEY_PREFIX if livemode else TEST_KEY_PREFIX)
        record = MerchantApiKey(merchant_id=merchant.id, name=name, livemode=livemode,
                                prefix=secret[:PREFIX_CHARS], key_sha256=key_sha256(secret),
                                created_at=self.clock(), last_used_at=None, revoked_at=None)
        self.db.add(record)
        self.db.flush()
        return IssuedKey(secret, record)

    def authenticate(self, secret: str | None) -> tuple[MerchantApiKey, Merchant] | None:
        """The live key and its active shop, or None: unknown, revoked, or the
        shop disabled."""
        if not secret or not _KEY.fullmatch(secret):
            return None
        found = self.db.execute(
            select(MerchantApiKey, Merchant).join(Merchant,
                                                  Merchant.id == MerchantApiKey.merchant_id)
            .where(MerchantApiKey.key_sha256 == key_sha256(secret))).first()
        if found is None:
            return None
        record, merchant = found
        if (record.revoked_at is not None or not merchant.is_active
                or record.livemode != secret.startswith(KEY_PREFIX)):
            return None
        now = self.clock()
        if due_for_touch(record.last_used_at, now):
            # One UPDATE a minute per key, not one per request.
            self.db.execute(update(MerchantApiKey).where(MerchantApiKey.id == record.id)
                            .values(last_used_at=now))
        return record, merchant

    def of_merchant(self, merchant: Merchant, *, livemode: bool = True) -> list[MerchantApiKey]:
        """The shop's unrevoked keys of one mode, newest first."""
        return list(self.db.scalars(
            select(MerchantApiKey).where(MerchantApiKey.merchant_id == merchant.id,
                                         MerchantApiKey.revoked_at.is_(None),
                                         in_mode(MerchantApiKey, livemode))
            .order_by(MerchantApiKey.id.desc())))

    def revoke(self, merchant: Merchant, key_id: int) -> bool:
        """Revoke one of the shop's keys; False if it is not theirs (or revoked)."""
        result = self.db.execute(
            update(MerchantApiKey).where(MerchantApiKey.id == key_id,
                                         MerchantApiKey.merchant_id == merchant.id,
                                         MerchantApiKey.revoked_at.is_(None))
            .values(revoked_at=self.clock()))
        return bool(cast(CursorResult[Any], result).rowcount)
