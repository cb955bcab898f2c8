"""The ledger: accounts, balanced journal entries, holds and reversals.

Concurrency scheme: every operation that changes balances first locks the
rows of all accounts it touches with ``SELECT ... FOR UPDATE`` in ascending
account id order (holds: the hold row first, then its accounts). A single
global order means two transactions can never wait on each other in a cycle,
so PostgreSQL raises no deadlock, and the funds check runs on locked, current
balances, so no update is lost and no wallet goes negative. SQLite has no row
locks; it serialises writers (use :func:`ledgerlib.db.create_engine`, which
begins write transactions with ``BEGIN IMMEDIATE``).

Every check runs before the first write, so an operation that raises has
written nothing: the caller may catch the error and still commit.

On PostgreSQL, ``post``/``transfer`` and ``commit_hold`` first try
:mod:`ledgerlib.fastpath`: the same locks (same order) and the same checks,
then the writes, all in one statement. When it does not apply it has written
nothing, and the generic code below -- the single source of truth for errors,
replays and idempotency, and the only path on SQLite -- does the work.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import BigInteger, Select, bindparam, case, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from . import fastpath, schema
from .errors import (
    AccountExists,
    AccountNotFound,
    AlreadyReversed,
    CurrencyMismatch,
    EmptyEntry,
    EntryNotFound,
    HoldAlreadyResolved,
    HoldNotFound,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidEntry,
    UnbalancedEntry,
)
from .money import check_paise

Side = Literal["debit", "credit"]

MAX_LEGS_PER_ENTRY = 32
MAX_CODE_CHARS = 128
MAX_IDEMPOTENCY_KEY_CHARS = 200
MAX_MEMO_CHARS = 500
MAX_METADATA_JSON_CHARS = 4000
MAX_PAGE_SIZE = 200

accounts, entries, postings, holds = (
    schema.accounts,
    schema.entries,
    schema.postings,
    schema.holds,
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --------------------------------------------------------------------------
# Value objects returned by the ledger (immutable snapshots, not live rows).


@dataclass(frozen=True)
class Leg:
    """One side of a movement: ``amount_paise`` (> 0) debited or credited."""

    account_code: str
    side: Side
    amount_paise: int


def debit(account_code: str, amount_paise: int) -> Leg:
    return Leg(account_code, "debit", amount_paise)


def credit(account_code: str, amount_paise: int) -> Leg:
    return Leg(account_code, "credit", amount_paise)


@dataclass(frozen=True)
class Account:
    id: int
    code: str
    kind: str
    currency: str
    owner_ref: str | None
    allow_negative: bool
    created_at: dt.datetime

    @property
    def normal_side(self) -> Side:
        return "debit" if self.kind in schema.DEBIT_NORMAL_KINDS else "credit"


@dataclass(frozen=True)
class Balance:
    """Balance on the account's normal side. ``available = posted - held``."""

    account_code: str
    currency: str
    posted_paise: int
    held_paise: int

    @property
    def available_paise(self) -> int:
        return self.posted_paise - self.held_paise


@dataclass(frozen=True)
class Posting:
    """A posted leg. ``amount_paise`` is signed: positive debit, negative credit."""

    account_code: str
    amount_paise: int
    currency: str


@dataclass(frozen=True)
class Entry:
    id: int
    idempotency_key: str | None
    memo: str
    metadata: Mapping[str, Any]
    created_at: dt.datetime
    reverses_entry_id: int | None
    postings: tuple[Posting, ...]
    #: True when the call that returned this entry moved nothing: the entry was
    #: posted before, with the same idempotency key (a replay).
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Hold:
    id: int
    idempotency_key: str | None
    source_code: str
    destination_code: str
    amount_paise: int
    currency: str
    status: str
    memo: str
    metadata: Mapping[str, Any]
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    commit_entry_id: int | None


@dataclass(frozen=True)
class HistoryItem:
    """One posting on an account, as the account holder sees it.

    ``change_paise`` is the effect on the balance: positive money in.
    """

    posting_id: int
    entry_id: int
    change_paise: int
    created_at: dt.datetime
    memo: str
    metadata: Mapping[str, Any]
    reverses_entry_id: int | None
    counterparty_codes: tuple[str, ...]


@dataclass(frozen=True)
class HistoryPage:
    items: tuple[HistoryItem, ...]
    #: Pass back as ``cursor`` for the next (older) page; None on the last page.
    next_cursor: str | None


@dataclass
class _LockedAccount:
    id: int
    code: str
    kind: str
    currency: str
    allow_negative: bool
    posted_paise: int
    held_paise: int
    sign: int = field(init=False)  # +1 debit-normal, -1 credit-normal

    def __post_init__(self) -> None:
        self.sign = 1 if self.kind in schema.DEBIT_NORMAL_KINDS else -1


def _fingerprint(kind: str, legs: Sequence[tuple[str, int]], extra: str = "") -> str:
    canonical = json.dumps([kind, sorted(legs), extra], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@functools.lru_cache(maxsize=None)
def _hold_query(for_update: bool) -> Select[Any]:
    """A hold with its accounts' codes (built once: commit_hold runs it per payout)."""
    source_acc = accounts.alias("source_acc")
    dest_acc = accounts.alias("dest_acc")
    stmt = (
        select(holds, source_acc.c.code.label("source_code"),
               dest_acc.c.code.label("destination_code"))
        .join(source_acc, source_acc.c.id == holds.c.source_account_id)
        .join(dest_acc, dest_acc.c.id == holds.c.destination_account_id)
        .where(holds.c.id == bindparam("hold_id", type_=BigInteger))
    )
    return stmt.with_for_update(of=holds) if for_update else stmt


def _check_text(value: str, name: str, max_chars: int, *, allow_empty: bool) -> str:
    if not isinstance(value, str):
        raise InvalidEntry(f"{name} must be a string")
    if not allow_empty and not value.strip():
        raise InvalidEntry(f"{name} must not be empty")
    if len(value) > max_chars:
        raise InvalidEntry(f"{name} is longer than {max_chars} characters")
    return value


def _check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidEntry("metadata must be a mapping")
    try:
        encoded = json.dumps(dict(metadata), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidEntry(f"metadata must be JSON-serialisable: {exc}") from None
    if len(encoded) > MAX_METADATA_JSON_CHARS:
        raise InvalidEntry(f"metadata is larger than {MAX_METADATA_JSON_CHARS} characters")
    decoded: dict[str, Any] = json.loads(encoded)
    return decoded


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    return _check_text(key, "idempotency_key", MAX_IDEMPOTENCY_KEY_CHARS, allow_empty=False)


# Statements built once; SQLAlchemy caches their compiled form.
_LOCK_ACCOUNTS = (
    select(
        accounts.c.id,
        accounts.c.code,
        accounts.c.kind,
        accounts.c.currency,
        accounts.c.allow_negative,
        accounts.c.posted_paise,
        accounts.c.held_paise,
    )
    .where(accounts.c.code.in_(bindparam("codes", expanding=True)))
    .order_by(accounts.c.id)
    .with_for_update()
)


@functools.lru_cache(maxsize=64)
def _update_balances(rows: int) -> Any:
    """One UPDATE adding deltas to ``rows`` locked accounts (one round trip), built once."""

    def delta(column: str) -> Any:
        return case(
            *[
                (accounts.c.id == bindparam(f"id_{i}", type_=BigInteger),
                 bindparam(f"{column}_{i}", type_=BigInteger))
                for i in range(rows)
            ],
            else_=0,
        )

    return (
        update(accounts)
        .where(accounts.c.id.in_([bindparam(f"id_{i}", type_=BigInteger) for i in range(rows)]))
        .values(
            posted_paise=accounts.c.posted_paise + delta("posted"),
            held_paise=accounts.c.held_paise + delta("held"),
        )
    )

_POSTING_COLUMNS = ("entry_id", "account_id", "amount_paise", "currency", "created_at")


@functools.lru_cache(maxsize=64)
def _insert_postings(rows: int) -> Any:
    """One multi-row INSERT for ``rows`` postings (one round trip), built once."""
    return insert(postings).values(
        [
            {col: bindparam(f"{col}_{i}", type_=postings.c[col].type) for col in _POSTING_COLUMNS}
            for i in range(rows)
        ]
    )


@functools.lru_cache(maxsize=16)
def _insert_returning_id(table_name: str, dialect: str, conflict_column: str | None) -> Any:
    """INSERT ... [ON CONFLICT (column) DO NOTHING] RETURNING id, built once.

    With a conflict column, no row comes back when the key is already taken.
    """
    table = schema.metadata.tables[table_name]
    if conflict_column is None:
        stmt = insert(table)
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=[conflict_column])
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=[conflict_column])
    else:
        raise NotImplementedError(f"ledgerlib supports PostgreSQL and SQLite, not {dialect}")
    return stmt.returning(table.c.id)


class Ledger:
    """Double-entry ledger operations on a caller-owned SQLAlchemy session.

    The ledger never commits or rolls back: the caller's transaction decides.
    ``clock`` returns the aware UTC time stamped on new rows (tests and data
    seeding pass their own).
    """

    #: Try :mod:`ledgerlib.fastpath` (one statement) before the generic path on
    #: PostgreSQL. Tests switch it off to compare both paths.
    _fast_path = True

    def __init__(self, session: Session, *, clock: Callable[[], dt.datetime] = utcnow):
        self.session = session
        self.clock = clock

    @property
    def _conn(self) -> Connection:
        return self.session.connection()

    @property
    def _dialect(self) -> str:
        return self._conn.dialect.name

    # ------------------------------------------------------------------ accounts

    def open_account(
        self,
        code: str,
        kind: str,
        *,
        currency: str = "INR",
        allow_negative: bool = False,
        owner_ref: str | None = None,
    ) -> Account:
        """Create an account, or return the existing one with the same properties.

        Raises :class:`AccountExists` if ``code`` exists with other properties.
        """
        _check_text(code, "account code", MAX_CODE_CHARS, allow_empty=False)
        if code != code.strip() or any(ch.isspace() for ch in code):
            raise InvalidEntry("account code must not contain whitespace")
        if kind not in schema.ACCOUNT_KINDS:
            raise InvalidEntry(f"account kind must be one of {schema.ACCOUNT_KINDS}")
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()
                and currency.isupper()):
            raise InvalidEntry("currency must be a 3-letter ISO code such as INR")
        wanted = dict(
            code=code,
            kind=kind,
            currency=currency,
            allow_negative=bool(allow_negative),
            owner_ref=owner_ref,
        )
        self._conn.execute(
            _insert_returning_id("ledger_accounts", self._dialect, "code"),
            {**wanted, "posted_paise": 0, "held_paise": 0, "created_at": self.clock()},
        )
        account = self.get_account(code)
        existing = {k: getattr(account, k) for k in wanted}
        if existing != wanted:
            raise AccountExists(f"account {code} exists with {existing}, not {wanted}")
        return account

    def get_account(self, code: str) -> Account:
        row = self._conn.execute(
            select(accounts).where(accounts.c.code == code)
        ).first()
        if row is None:
            raise AccountNotFound(code)
        return Account(
            id=row.id,
            code=row.code,
            kind=row.kind,
            currency=row.currency,
            owner_ref=row.owner_ref,
            allow_negative=row.allow_negative,
            created_at=row.created_at,
        )

    def balance(self, code: str) -> Balance:
        """The maintained balance: one indexed row read, no scan of postings."""
        row = self._conn.execute(
            select(
                accounts.c.currency, accounts.c.posted_paise, accounts.c.held_paise
            ).where(accounts.c.code == code)
        ).first()
        if row is None:
            raise AccountNotFound(code)
        return Balance(code, row.currency, row.posted_paise, row.held_paise)

    # ------------------------------------------------------------------- entries

    def transfer(
        self,
        source: str,
        destination: str,
        amount_paise: int,
        *,
        idempotency_key: str | None = None,
        memo: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Move money: debit ``source``, credit ``destination``.

        For liability accounts such as wallets this takes money from the source
        wallet; for an asset such as a bank settlement account it records money
        arriving from the bank.
        """
        return self.post(
            [debit(source, amount_paise), credit(destination, amount_paise)],
            idempotency_key=idempotency_key,
            memo=memo,
            metadata=metadata,
        )

    def post(
        self,
        legs: Sequence[Leg],
        *,
        idempotency_key: str | None = None,
        memo: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Post a balanced journal entry of two or more legs.

        With an ``idempotency_key`` already used for the same legs, returns the
        original entry and moves nothing; for other legs raises
        :class:`IdempotencyConflict`.
        """
        signed = self._validate_legs(legs)
        return self._post(
            signed,
            kind="entry",
            idempotency_key=_check_key(idempotency_key),
            memo=_check_text(memo, "memo", MAX_MEMO_CHARS, allow_empty=True),
            metadata=_check_metadata(metadata),
        )

    def reverse(
        self,
        entry_id: int,
        *,
        idempotency_key: str | None = None,
        memo: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Post the exact opposite of an entry. An entry is reversed at most once.

        Reversing again with the same key (default ``reverse:<entry_id>``)
        returns the reversal; any other reversal raises :class:`AlreadyReversed`.
        """
        original = self.get_entry(entry_id)
        signed = [(p.account_code, -p.amount_paise) for p in original.postings]
        return self._post(
            signed,
            kind="reversal",
            idempotency_key=_check_key(idempotency_key or f"reverse:{entry_id}"),
            memo=_check_text(
                memo if memo is not None else f"reversal of entry {entry_id}",
                "memo", MAX_MEMO_CHARS, allow_empty=True,
            ),
            metadata=_check_metadata(metadata),
            reverses_entry_id=entry_id,
        )

    def get_entry(self, entry_id: int) -> Entry:
        row = self._conn.execute(select(entries).where(entries.c.id == entry_id)).first()
        if row is None:
            raise EntryNotFound(entry_id)
        return self._entry_from_row(row)

    def find_entry(self, idempotency_key: str) -> Entry | None:
        """The entry posted with this idempotency key, if any."""
        row = self._conn.execute(
            select(entries).where(entries.c.idempotency_key == idempotency_key)
        ).first()
        return None if row is None else self._entry_from_row(row)

    def _entry_from_row(self, row: Row[Any]) -> Entry:
        posting_rows = self._conn.execute(
            select(accounts.c.code, postings.c.amount_paise, postings.c.currency)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(postings.c.entry_id == row.id)
            .order_by(postings.c.id)
        ).all()
        return Entry(
            id=row.id,
            idempotency_key=row.idempotency_key,
            memo=row.memo,
            metadata=row.metadata,
            created_at=row.created_at,
            reverses_entry_id=row.reverses_entry_id,
            postings=tuple(Posting(r.code, r.amount_paise, r.currency) for r in posting_rows),
        )

    @staticmethod
    def _validate_legs(legs: Sequence[Leg]) -> list[tuple[str, int]]:
        """Check the legs' shape (no database needed); return (code, signed amount)."""
        if not isinstance(legs, Sequence) or len(legs) < 2:
            raise EmptyEntry("an entry needs at least two legs")
        if len(legs) > MAX_LEGS_PER_ENTRY:
            raise InvalidEntry(f"an entry has at most {MAX_LEGS_PER_ENTRY} legs")
        signed = []
        for leg in legs:
            if not isinstance(leg, Leg):
                raise InvalidEntry(f"not a Leg: {leg!r}")
            if leg.side not in ("debit", "credit"):
                raise InvalidEntry(f"leg side must be debit or credit, not {leg.side!r}")
            check_paise(leg.amount_paise)
            signed.append(
                (leg.account_code, leg.amount_paise if leg.side == "debit" else -leg.amount_paise)
            )
        if sum(amount for _, amount in signed) != 0:
            raise UnbalancedEntry(
                f"debits and credits differ by {sum(a for _, a in signed)} paise"
            )
        return signed

    def _post(
        self,
        signed: list[tuple[str, int]],
        *,
        kind: str,
        idempotency_key: str | None,
        memo: str,
        metadata: dict[str, Any],
        reverses_entry_id: int | None = None,
        resolving_hold: Row[Any] | None = None,
    ) -> Entry:
        fingerprint = _fingerprint(kind, signed, str(reverses_entry_id or ""))
        if reverses_entry_id is None and resolving_hold is None:
            fast = self._fast_post(signed, idempotency_key, fingerprint, memo, metadata)
            if fast is not None:
                return fast
        # (commit_hold tries the fast path itself, reversals never do.)
        # The generic path: every dialect, every case, every error.
        locked = self._lock_accounts({code for code, _ in signed})

        # Per-currency balance: legs are checked as a whole above, but each
        # currency must balance on its own.
        per_currency: dict[str, int] = defaultdict(int)
        for code, amount in signed:
            per_currency[locked[code].currency] += amount
        unbalanced = {cur: total for cur, total in per_currency.items() if total}
        if unbalanced:
            raise UnbalancedEntry(f"entry does not balance per currency: {unbalanced}")

        # Balance changes on each account's normal side.
        posted_change: dict[str, int] = defaultdict(int)
        held_change: dict[str, int] = defaultdict(int)
        for code, amount in signed:
            posted_change[code] += locked[code].sign * amount
        if resolving_hold is not None:
            source = self._code_of(locked, resolving_hold.source_account_id)
            held_change[source] -= resolving_hold.amount_paise

        if reverses_entry_id is not None:
            existing_reversal = self._conn.execute(
                select(entries.c.idempotency_key).where(
                    entries.c.reverses_entry_id == reverses_entry_id
                )
            ).first()
            if existing_reversal is not None and existing_reversal[0] != idempotency_key:
                raise AlreadyReversed(f"entry {reverses_entry_id} is already reversed")

        shortfall = self._first_shortfall(locked, posted_change, held_change)
        if shortfall is not None:
            # A replay of a movement that already happened is not an overdraft.
            replay = self._replayed_entry(idempotency_key, fingerprint)
            if replay is not None:
                return replay
            raise shortfall

        now = self.clock()
        conn = self._conn
        entry_id = conn.execute(
            _insert_returning_id(
                "ledger_entries", conn.dialect.name,
                None if idempotency_key is None else "idempotency_key",
            ),
            {
                "idempotency_key": idempotency_key,
                "fingerprint": fingerprint,
                "memo": memo,
                "metadata": metadata,
                "reverses_entry_id": reverses_entry_id,
                "created_at": now,
            },
        ).scalar()
        if entry_id is None:  # the key was taken: nothing of ours was written
            replay = self._replayed_entry(idempotency_key, fingerprint)
            assert replay is not None, "conflicting insert but no entry found"
            return replay

        rows: dict[str, Any] = {}
        for i, (code, amount) in enumerate(signed):
            rows.update({
                f"entry_id_{i}": entry_id,
                f"account_id_{i}": locked[code].id,
                f"amount_paise_{i}": amount,
                f"currency_{i}": locked[code].currency,
                f"created_at_{i}": now,
            })
        conn.execute(_insert_postings(len(signed)), rows)
        self._apply_balance_changes(locked, posted_change, held_change)
        return Entry(
            id=entry_id,
            idempotency_key=idempotency_key,
            memo=memo,
            metadata=metadata,
            created_at=now,
            reverses_entry_id=reverses_entry_id,
            postings=tuple(
                Posting(code, amount, locked[code].currency) for code, amount in signed
            ),
        )

    def _fast_post(
        self,
        signed: list[tuple[str, int]],
        idempotency_key: str | None,
        fingerprint: str,
        memo: str,
        metadata: dict[str, Any],
        hold: Hold | None = None,
    ) -> Entry | None:
        """The one-statement PostgreSQL path (:mod:`ledgerlib.fastpath`).

        None -- having written nothing -- when it does not apply here or any
        check fails; the generic path then decides, raises or replays. With
        ``hold`` (locked, pending) the statement also commits that hold.
        """
        if not self._fast_path:
            return None
        conn = self._conn
        if not fastpath.usable(conn):
            return None
        now = self.clock()
        posted = fastpath.try_post(
            conn, signed, idempotency_key=idempotency_key, fingerprint=fingerprint,
            memo=memo, metadata=metadata, created_at=now,
            hold=None if hold is None else (hold.id, hold.source_code, hold.amount_paise),
        )
        if posted is None:
            return None
        entry_id, currencies = posted
        return Entry(
            id=entry_id,
            idempotency_key=idempotency_key,
            memo=memo,
            metadata=metadata,
            created_at=now,
            reverses_entry_id=None,
            postings=tuple(
                Posting(code, amount, currency)
                for (code, amount), currency in zip(signed, currencies, strict=True)
            ),
        )

    def _replayed_entry(self, idempotency_key: str | None, fingerprint: str) -> Entry | None:
        if idempotency_key is None:
            return None
        row = self._conn.execute(
            select(entries).where(entries.c.idempotency_key == idempotency_key)
        ).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise IdempotencyConflict(
                f"idempotency key {idempotency_key!r} was used for a different movement"
            )
        return replace(self._entry_from_row(row), replayed=True)

    # --------------------------------------------------------------------- holds

    def hold(
        self,
        source: str,
        destination: str,
        amount_paise: int,
        *,
        idempotency_key: str | None = None,
        memo: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Hold:
        """Reserve ``amount_paise`` of ``source`` for a later move to ``destination``.

        The amount leaves the source's available balance at once; the posted
        balance moves only on :meth:`commit_hold`. Idempotent by key.
        """
        check_paise(amount_paise)
        idempotency_key = _check_key(idempotency_key)
        memo = _check_text(memo, "memo", MAX_MEMO_CHARS, allow_empty=True)
        metadata_ = _check_metadata(metadata)
        if source == destination:
            raise InvalidEntry("a hold needs two different accounts")
        locked = self._lock_accounts({source, destination})
        if locked[source].currency != locked[destination].currency:
            raise CurrencyMismatch("a hold moves money within one currency")
        held_change = {source: amount_paise}
        shortfall = self._first_shortfall(locked, {}, held_change)
        if shortfall is not None:
            replay = self._replayed_hold(idempotency_key, locked, destination, amount_paise)
            if replay is not None:
                return replay
            raise shortfall
        hold_id = self._conn.execute(
            _insert_returning_id(
                "ledger_holds", self._dialect,
                None if idempotency_key is None else "idempotency_key",
            ),
            {
                "idempotency_key": idempotency_key,
                "source_account_id": locked[source].id,
                "destination_account_id": locked[destination].id,
                "amount_paise": amount_paise,
                "currency": locked[source].currency,
                "status": "pending",
                "memo": memo,
                "metadata": metadata_,
                "created_at": self.clock(),
            },
        ).scalar()
        if hold_id is None:
            replay = self._replayed_hold(idempotency_key, locked, destination, amount_paise)
            assert replay is not None, "conflicting insert but no hold found"
            return replay
        self._apply_balance_changes(locked, {}, held_change)
        return self.get_hold(hold_id)

    def _replayed_hold(
        self,
        idempotency_key: str | None,
        locked: dict[str, _LockedAccount],
        destination: str,
        amount_paise: int,
    ) -> Hold | None:
        if idempotency_key is None:
            return None
        row = self._conn.execute(
            select(holds.c.id).where(holds.c.idempotency_key == idempotency_key)
        ).first()
        if row is None:
            return None
        hold = self.get_hold(row.id)
        source = next(code for code in locked if code != destination)
        if (hold.source_code, hold.destination_code, hold.amount_paise) != (
            source, destination, amount_paise,
        ):
            raise IdempotencyConflict(
                f"idempotency key {idempotency_key!r} was used for a different hold"
            )
        return hold

    def get_hold(self, hold_id: int) -> Hold:
        return self._hold(hold_id, for_update=False)[0]

    def _hold(self, hold_id: int, *, for_update: bool) -> tuple[Hold, Row[Any]]:
        row = self._conn.execute(_hold_query(for_update), {"hold_id": hold_id}).first()
        if row is None:
            raise HoldNotFound(hold_id)
        hold = Hold(
            id=row.id,
            idempotency_key=row.idempotency_key,
            source_code=row.source_code,
            destination_code=row.destination_code,
            amount_paise=row.amount_paise,
            currency=row.currency,
            status=row.status,
            memo=row.memo,
            metadata=row.metadata,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            commit_entry_id=row.commit_entry_id,
        )
        return hold, row

    def commit_hold(
        self,
        hold_id: int,
        *,
        memo: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Post the held amount from source to destination; the hold ends.

        Committing a committed hold returns its entry again (no second
        movement); committing a released hold raises :class:`HoldAlreadyResolved`.
        """
        hold, row = self._hold(hold_id, for_update=True)
        if hold.status == "committed":
            assert hold.commit_entry_id is not None
            return replace(self.get_entry(hold.commit_entry_id), replayed=True)
        if hold.status != "pending":
            raise HoldAlreadyResolved(f"hold {hold_id} is {hold.status}")
        signed = [(hold.source_code, hold.amount_paise),
                  (hold.destination_code, -hold.amount_paise)]
        key = f"hold:{hold_id}:commit"
        memo = _check_text(memo if memo is not None else hold.memo, "memo",
                           MAX_MEMO_CHARS, allow_empty=True)
        metadata_ = _check_metadata(metadata if metadata is not None else hold.metadata)
        fast = self._fast_post(
            signed, key, _fingerprint("hold-commit", signed), memo, metadata_, hold=hold
        )
        if fast is not None:  # the same statement marked the hold committed
            return fast
        entry = self._post(
            signed, kind="hold-commit", idempotency_key=key, memo=memo, metadata=metadata_,
            resolving_hold=row,
        )
        self._conn.execute(
            update(holds)
            .where(holds.c.id == hold_id)
            .values(status="committed", commit_entry_id=entry.id, resolved_at=entry.created_at)
        )
        return entry

    def release_hold(self, hold_id: int) -> Hold:
        """Give the held amount back to the source's available balance.

        Releasing a released hold is a no-op; releasing a committed hold
        raises :class:`HoldAlreadyResolved`.
        """
        hold, _ = self._hold(hold_id, for_update=True)
        if hold.status == "released":
            return hold
        if hold.status != "pending":
            raise HoldAlreadyResolved(f"hold {hold_id} is {hold.status}")
        locked = self._lock_accounts({hold.source_code})
        self._apply_balance_changes(locked, {}, {hold.source_code: -hold.amount_paise})
        self._conn.execute(
            update(holds)
            .where(holds.c.id == hold_id)
            .values(status="released", resolved_at=self.clock())
        )
        return self.get_hold(hold_id)

    def pending_holds(self, code: str) -> list[Hold]:
        """The account's holds that are not yet committed or released, oldest first."""
        account_id = self.get_account(code).id
        ids = self._conn.execute(
            select(holds.c.id)
            .where(holds.c.source_account_id == account_id, holds.c.status == "pending")
            .order_by(holds.c.id)
        ).scalars()
        return [self.get_hold(hold_id) for hold_id in ids]

    # ------------------------------------------------------------------ history

    def history(self, code: str, *, limit: int = 20, cursor: str | None = None) -> HistoryPage:
        """The account's postings, newest first, ``limit`` at a time (keyset paging)."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidEntry(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        account = self.get_account(code)
        sign = 1 if account.normal_side == "debit" else -1
        stmt = (
            select(
                postings.c.id,
                postings.c.entry_id,
                postings.c.amount_paise,
                postings.c.created_at,
                entries.c.memo,
                entries.c.metadata,
                entries.c.reverses_entry_id,
            )
            .join(entries, entries.c.id == postings.c.entry_id)
            .where(postings.c.account_id == account.id)
            .order_by(postings.c.id.desc())
            .limit(limit + 1)
        )
        if cursor is not None:
            stmt = stmt.where(postings.c.id < self._decode_cursor(cursor))
        rows = self._conn.execute(stmt).all()
        more = len(rows) > limit
        rows = rows[:limit]
        counterparties: dict[int, list[str]] = defaultdict(list)
        if rows:
            for entry_id, other_code in self._conn.execute(
                select(postings.c.entry_id, accounts.c.code)
                .join(accounts, accounts.c.id == postings.c.account_id)
                .where(
                    postings.c.entry_id.in_({r.entry_id for r in rows}),
                    postings.c.account_id != account.id,
                )
                .order_by(postings.c.id)
            ):
                counterparties[entry_id].append(other_code)
        items = tuple(
            HistoryItem(
                posting_id=r.id,
                entry_id=r.entry_id,
                change_paise=sign * r.amount_paise,
                created_at=r.created_at,
                memo=r.memo,
                metadata=r.metadata,
                reverses_entry_id=r.reverses_entry_id,
                counterparty_codes=tuple(counterparties[r.entry_id]),
            )
            for r in rows
        )
        return HistoryPage(items, str(rows[-1].id) if more else None)

    @staticmethod
    def _decode_cursor(cursor: str) -> int:
        if not (isinstance(cursor, str) and cursor.isascii() and cursor.isdigit()
                and len(cursor) <= 19):
            raise InvalidEntry("malformed history cursor")
        return int(cursor)

    # ------------------------------------------------------------------ reports

    def daily_totals(self, code: str, start: dt.date, end: dt.date, tz: str):  # type: ignore[no-untyped-def]
        """Credited/debited totals per local day in ``tz``, ``start``..``end`` inclusive."""
        from .reports import period_totals

        return period_totals(self, code, start, end, tz, period="day")

    def monthly_totals(self, code: str, start: dt.date, end: dt.date, tz: str):  # type: ignore[no-untyped-def]
        """Credited/debited totals per local month in ``tz`` (months of start..end)."""
        from .reports import period_totals

        return period_totals(self, code, start, end, tz, period="month")

    def verify(self):  # type: ignore[no-untyped-def]
        """Re-derive every balance from postings and holds; see :mod:`ledgerlib.verify`."""
        from .verify import verify

        return verify(self.session)

    # ---------------------------------------------------------------- internals

    def _lock_accounts(self, codes: set[str]) -> dict[str, _LockedAccount]:
        for code in codes:
            if not isinstance(code, str):
                raise InvalidEntry(f"account code must be a string, not {code!r}")
        rows = self._conn.execute(_LOCK_ACCOUNTS, {"codes": sorted(codes)}).all()
        locked = {
            r.code: _LockedAccount(
                r.id, r.code, r.kind, r.currency, r.allow_negative, r.posted_paise, r.held_paise
            )
            for r in rows
        }
        missing = codes - locked.keys()
        if missing:
            raise AccountNotFound(", ".join(sorted(missing)))
        return locked

    @staticmethod
    def _code_of(locked: dict[str, _LockedAccount], account_id: int) -> str:
        return next(code for code, acc in locked.items() if acc.id == account_id)

    @staticmethod
    def _first_shortfall(
        locked: dict[str, _LockedAccount],
        posted_change: Mapping[str, int],
        held_change: Mapping[str, int],
    ) -> InsufficientFunds | None:
        """Funds check on the *available* balance, so holds cannot be overspent."""
        for code in sorted(locked):
            acc = locked[code]
            available_change = posted_change.get(code, 0) - held_change.get(code, 0)
            if acc.allow_negative or available_change >= 0:
                continue
            available = acc.posted_paise - acc.held_paise
            if available + available_change < 0:
                return InsufficientFunds(code, available, -available_change)
        return None

    def _apply_balance_changes(
        self,
        locked: dict[str, _LockedAccount],
        posted_change: Mapping[str, int],
        held_change: Mapping[str, int],
    ) -> None:
        params: dict[str, int] = {}
        for code in sorted(posted_change.keys() | held_change.keys(), key=lambda c: locked[c].id):
            posted, held = posted_change.get(code, 0), held_change.get(code, 0)
            if posted == 0 and held == 0:
                continue
            acc = locked[code]
            acc.posted_paise += posted
            acc.held_paise += held
            # TigerBeetle-style assertions: the funds check above must make
            # these impossible; if they fire, refuse rather than corrupt.
            assert acc.held_paise >= 0, f"held balance of {code} would go negative"
            assert acc.allow_negative or acc.posted_paise - acc.held_paise >= 0, (
                f"available balance of {code} would go negative"
            )
            i = len(params) // 3
            params.update({f"id_{i}": acc.id, f"posted_{i}": posted, f"held_{i}": held})
        if params:
            self._conn.execute(_update_balances(len(params) // 3), params)
