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

:meth:`IdempotencyKeys.run_once` is the whole choreography, which the API
only calls (api_app.money): the stored answer looked up first when a PIN is
at stake, the operation run under the key, its answer stored in its
transaction, a refusal answered by what was stored (a repeat of a request that
succeeded then), and a twin that committed first answered by raising
:class:`ReplayInstead` -- so the caller's transaction ends without a commit, as
after any raised refusal. Why no savepoint: docs/architecture.md
("Idempotency: one record per operation").
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, select
from sqlalchemy.orm import Session

from .codes import is_request_key, utcnow
from .errors import BadIdempotencyKey, IdempotencyKeyReused, WalletError
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


#: The operation run once under a key: its answer (status and JSON body).
Operation = Callable[[], StoredResponse]


@dataclass(frozen=True)
class Found:
    """The record stored for the key, read already (None: none), e.g. in the
    caller's token query (wallet.identity.api_tokens): no query of its own."""

    record: IdempotencyRecord | None


@dataclass(frozen=True)
class KeyedRequest:
    """A request under an Idempotency-Key: whose key, the key, and the
    request's fingerprint (:func:`fingerprint`, without the PIN)."""

    owner: KeyOwner
    key: str
    request_sha256: str


@dataclass(frozen=True)
class Answer:
    """What :meth:`IdempotencyKeys.run_once` answers: the operation's response,
    or (``replayed``) the one stored for the key by an earlier request."""

    response: StoredResponse
    replayed: bool = False


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
        inserted = self.db.execute(_insert_if_new(self.db.get_bind().dialect.name), {
            "i_user_id": who.user_id, "i_merchant_id": who.merchant_id, "i_key": key,
            "i_request_sha256": request_sha256, "i_response_status": response.status,
            "i_response_body": json.dumps(response.body), "i_created_at": self.clock(),
        }, execution_options=_RAW).first()
        if inserted is None:
            twin = self.replay(who, key, request_sha256)
            if twin is None:
                raise RuntimeError(f"idempotency key {key!r}: neither inserted nor found")
            raise ReplayInstead(twin)
        return response

    def run_once(self, request: KeyedRequest, operation: Operation, *,
                 look_first: bool | Found = False) -> Answer:
        """Run ``operation`` once under ``request``'s key, or answer what was
        stored for it (``replayed``).

        ``look_first``: look the key up before running (True: a query; a
        :class:`Found`: read already) -- a request with a PIN must, so that a
        repeat compares none and a key reused for another request is refused
        (IdempotencyKeyReused) before a PIN is compared. Otherwise the stored
        answer is looked up only when it matters: when the operation refused
        (a repeat of a request that succeeded then, e.g. before the money was
        spent), or when storing finds the key taken.

        A refusal (WalletError) with nothing stored is raised: nothing is
        stored for it, and the same key may run again. A twin request that
        committed first raises :class:`ReplayInstead` with its answer: this
        run's writes must not commit (the caller's transaction ends as after
        any raised error)."""
        owner, key, sha256 = request.owner, request.key, request.request_sha256
        if look_first is not False:
            stored = (IdempotencyKeys.answer(look_first.record, sha256)
                      if isinstance(look_first, Found) else self.replay(owner, key, sha256))
            if stored is not None:
                return Answer(stored, replayed=True)
        try:
            response = operation()
        except WalletError:
            stored = self.replay(owner, key, sha256)
            if stored is not None:
                return Answer(stored, replayed=True)
            raise
        return Answer(self.store(owner, key, sha256, response))

    def purge(self, older_than: dt.timedelta = KEEP_FOR) -> int:
        """Forget keys older than ``older_than`` (never less than KEEP_FOR)."""
        cutoff = self.clock() - max(older_than, KEEP_FOR)
        result = self.db.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < cutoff))
        return int(cast(CursorResult[Any], result).rowcount)


#: ("raw": the parameters are the statement's, not rows of a bulk insert)
_RAW = {"dml_strategy": "raw"}


@functools.cache
def _insert_if_new(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id for this database
    (PostgreSQL or SQLite), its values bound parameters (``i_<column>``):
    built once."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = [c for c in IdempotencyRecord.__table__.c if c.key != "id"]
    return (insert(IdempotencyRecord)
            .values({c.key: bindparam(f"i_{c.key}", type_=c.type) for c in columns})
            .on_conflict_do_nothing().returning(IdempotencyRecord.id))


class ReplayInstead(Exception):  # noqa: N818 - a signal, not an error
    """A twin request with the same key committed first: answer its response
    (flagged as a replay), and end this transaction without a commit -- raised
    out of :meth:`IdempotencyKeys.run_once`, it does so wherever raised errors
    roll back (pyramid_tm rolls back a request whose error a view answered)."""

    def __init__(self, response: StoredResponse):
        super().__init__("a twin request committed first")
        self.response = response
