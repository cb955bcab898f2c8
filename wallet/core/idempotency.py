"""Idempotency keys for money requests made through the API.

A client sends an ``Idempotency-Key`` with every request that moves money.
The first request with a key runs and its response is stored in the same
database transaction as the money movement; the same key with the same
request (method, path, body) replays that response and moves nothing; the
same key with another request is refused. Two requests with one key at the
same moment cannot both run: the second one's claim waits on the first one's
row (PostgreSQL's unique index; SQLite runs one writer at a time) and then
replays it. Only successful responses are stored: a refused request changed
nothing, so running it again under its key is safe. Keys are scoped to who
sent them -- a user (``KeyOwner.user``) or a shop's server
(``KeyOwner.merchant``): the same key from two owners is two requests -- and
kept at least ``KEEP_FOR``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from .codes import is_request_key, utcnow
from .errors import BadIdempotencyKey, IdempotencyKeyReused
from .models import IdempotencyRecord

KEEP_FOR = dt.timedelta(hours=48)


@dataclass(frozen=True)
class KeyOwner:
    """Whose keys: a user's or a shop's (exactly one id is set)."""

    user_id: int | None = None
    merchant_id: int | None = None

    @classmethod
    def user(cls, user_id: int) -> KeyOwner:
        return cls(user_id=user_id)

    @classmethod
    def merchant(cls, merchant_id: int) -> KeyOwner:
        return cls(merchant_id=merchant_id)

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.merchant_id is None):
            raise ValueError("a key belongs to a user or to a merchant, not both or neither")


def _owner(owner: int | KeyOwner) -> KeyOwner:
    """A bare int is a user's id (how callers named owners before shops had keys)."""
    return owner if isinstance(owner, KeyOwner) else KeyOwner.user(owner)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeys:
    def __init__(self, dbsession: Session, *, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.clock = clock

    @staticmethod
    def check_key(key: str | None) -> str:
        if key is None:
            raise BadIdempotencyKey("This request moves money: send an Idempotency-Key header "
                                    "(16 to 64 letters, digits, - or _; a new one per request).")
        if not is_request_key(key):
            raise BadIdempotencyKey("An Idempotency-Key is 16 to 64 letters, digits, - or _.")
        return key

    def replay(self, owner: int | KeyOwner, key: str,
               request_sha256: str) -> StoredResponse | None:
        """The stored response for this key of ``owner`` (a KeyOwner, or a
        user's id), if the same request was made with it; IdempotencyKeyReused
        if the key was used for another request."""
        who = _owner(owner)
        whose = (IdempotencyRecord.user_id == who.user_id if who.user_id is not None
                 else IdempotencyRecord.merchant_id == who.merchant_id)
        return self.answer(self.db.scalar(select(IdempotencyRecord).where(
            whose, IdempotencyRecord.key == key)), request_sha256)

    @staticmethod
    def answer(record: IdempotencyRecord | None, request_sha256: str) -> StoredResponse | None:
        """:meth:`replay` of a record looked up already (None: no record)."""
        if record is None:
            return None
        if record.request_sha256 != request_sha256:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request. Use a new key "
                "for a new request; resend the same request to get its first answer.")
        return StoredResponse(record.response_status, json.loads(record.response_body))

    def store(self, owner: int | KeyOwner, key: str, request_sha256: str,
              response: StoredResponse) -> StoredResponse:
        """Keep the response of a request that ran; if a twin request with the
        same key committed first, its response is the answer (and this
        transaction must not commit its own movement: the caller rolls back)."""
        who = _owner(owner)
        # One statement, no savepoint: a row already there (a twin committed
        # first) inserts nothing, and its answer is ours.
        inserted = self.db.execute(_insert_if_new(self.db).values(
            user_id=who.user_id, merchant_id=who.merchant_id, key=key,
            request_sha256=request_sha256, response_status=response.status,
            response_body=json.dumps(response.body), created_at=self.clock(),
        ).returning(IdempotencyRecord.id)).first()
        if inserted is None:
            twin = self.replay(who, key, request_sha256)
            if twin is None:
                raise RuntimeError(f"idempotency key {key!r}: neither inserted nor found")
            raise ReplayInstead(twin)
        return response

    def purge(self, older_than: dt.timedelta = KEEP_FOR) -> int:
        """Forget keys older than ``older_than`` (never less than KEEP_FOR)."""
        cutoff = self.clock() - max(older_than, KEEP_FOR)
        result = self.db.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < cutoff))
        return int(cast(CursorResult[Any], result).rowcount)


def _insert_if_new(db: Session) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for this database (PostgreSQL or SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if db.get_bind().dialect.name == "postgresql":
        return postgresql.insert(IdempotencyRecord).on_conflict_do_nothing()
    return sqlite.insert(IdempotencyRecord).on_conflict_do_nothing()


class ReplayInstead(Exception):  # noqa: N818 - a signal, not an error
    """A twin request with the same key committed first: answer its response,
    and roll this transaction back."""

    def __init__(self, response: StoredResponse):
        super().__init__("a twin request committed first")
        self.response = response
