"""Bearer tokens for the JSON API: one per device, random, kept only as a
SHA-256 (the token is shown once), with an absolute expiry and an idle
timeout. Every request looks its token up in the database, so a token revoked
through one process is refused by every other at once."""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, and_, bindparam, false, select, update
from sqlalchemy.orm import Session

from ..core.codes import utcnow
from ..core.credentials import due_for_touch, new_secret, secret_sha256
from ..core.models import IdempotencyRecord, User
from ..core.text import is_ordinary, one_line
from .errors import AccountError
from .models import ApiToken
from .web_sessions import MAX_IP_CHARS, MAX_USER_AGENT_CHARS, _summary

TOKEN_PREFIX = "wlt_"
#: wlt_ + 43 characters of secrets.token_urlsafe(32).
_TOKEN = re.compile(r"wlt_[A-Za-z0-9_-]{43}", re.ASCII)
MAX_DEVICE_NAME_CHARS = 80
#: A user's live tokens at most: signing in on one more device revokes the one
#: used least recently.
MAX_LIVE_TOKENS = 20


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the secret: shown once, never stored
    record: ApiToken


token_sha256 = secret_sha256


@functools.cache
def _token_lookup(with_key: bool) -> Select[ApiToken, User, IdempotencyRecord]:
    """A token with its user and, ``with_key``, the user's answer stored for
    an idempotency key (bound parameters ``token_sha256``, ``stored_key``):
    built once, each request binds its values."""
    # (no key asked about: the join's condition is false, planned away)
    stored_for_key = (and_(IdempotencyRecord.user_id == ApiToken.user_id,
                           IdempotencyRecord.key == bindparam("stored_key"))
                      if with_key else false())
    return (select(ApiToken, User, IdempotencyRecord).join(User, User.id == ApiToken.user_id)
            .outerjoin(IdempotencyRecord, stored_for_key)
            .where(ApiToken.token_sha256 == bindparam("token_sha256")))


class ApiTokens:
    def __init__(self, dbsession: Session, *, ttl_s: float, idle_s: float,
                 clock: Callable[[], dt.datetime] = utcnow, idempotency_key: str | None = None):
        self.db = dbsession
        #: A money request with a PIN looks its Idempotency-Key up before the
        #: PIN is compared (api_app.money): read with the token, no round trip
        #: of its own. :meth:`authenticate` sets :attr:`stored`.
        self.idempotency_key = idempotency_key
        self.stored: IdempotencyRecord | None = None
        self.ttl = dt.timedelta(seconds=ttl_s)
        self.idle = dt.timedelta(seconds=idle_s)
        self.clock = clock

    def issue(self, user: User, device_name: str, *, user_agent: str = "",
              ip: str = "") -> IssuedToken:
        """A new token for ``device_name``; ``user_agent`` and ``ip``: the
        app's, kept for the user's devices list (wallet.identity.signed_in_devices)."""
        name = one_line(device_name)
        if not name:
            raise AccountError("Name the device, like \"Asha's phone\".", "device_name")
        if len(name) > MAX_DEVICE_NAME_CHARS or not is_ordinary(name):
            raise AccountError(f"Use up to {MAX_DEVICE_NAME_CHARS} ordinary characters.",
                               "device_name")
        token = new_secret(TOKEN_PREFIX)
        now = self.clock()
        record = ApiToken(user_id=user.id, device_name=name, prefix=token[:12],
                          token_sha256=token_sha256(token), created_at=now, last_used_at=now,
                          expires_at=now + self.ttl,
                          user_agent=_summary(user_agent, MAX_USER_AGENT_CHARS),
                          ip=_summary(ip, MAX_IP_CHARS))
        self.db.add(record)
        self.db.flush()
        self._revoke_beyond_cap(user, now)
        return IssuedToken(token, record)

    def _revoke_beyond_cap(self, user: User, now: dt.datetime) -> None:
        live = self.of_user(user)
        for stale in sorted(live, key=lambda t: (t.last_used_at, t.id))[:-MAX_LIVE_TOKENS]:
            stale.revoked_at = now

    def authenticate(self, token: str | None) -> tuple[ApiToken, User] | None:
        """The live token and its active user, or None: unknown, revoked,
        expired, idle too long, or the user disabled. Given an
        ``idempotency_key`` (the constructor's), the user's answer stored for
        it is read in the same query, into :attr:`stored` (None: none)."""
        self.stored = None
        if not token or not _TOKEN.fullmatch(token):
            return None
        found = self.db.execute(
            _token_lookup(self.idempotency_key is not None),
            {"token_sha256": token_sha256(token), "stored_key": self.idempotency_key}).first()
        if found is None:
            return None
        record, user, stored = found
        now = self.clock()
        if (record.revoked_at is not None or record.expires_at <= now
                or record.last_used_at + self.idle <= now or not user.is_active):
            return None
        if due_for_touch(record.last_used_at, now):
            # Only when it moved on: one UPDATE a minute per token, not per request.
            self.db.execute(update(ApiToken).where(ApiToken.id == record.id)
                            .values(last_used_at=now))
        self.stored = stored
        return record, user

    def of_user(self, user: User) -> list[ApiToken]:
        """The user's tokens that still work, newest first."""
        now = self.clock()
        return list(self.db.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
                                   ApiToken.expires_at > now,
                                   ApiToken.last_used_at > now - self.idle)
            .order_by(ApiToken.id.desc())))

    def revoke(self, user: User, token_id: int) -> bool:
        """Revoke one of the user's tokens; False if it is not theirs (or gone)."""
        result = self.db.execute(
            update(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id,
                                   ApiToken.revoked_at.is_(None))
            .values(revoked_at=self.clock()))
        return bool(cast(CursorResult[Any], result).rowcount)
