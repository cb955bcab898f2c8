"""What every money operation shares: the form's idempotency key, the replay
of a form submitted again, and the record of a movement completed at once.

Plain functions on the caller's session, so that the transfers, the shop
payments, the deposits and the withdrawals use the same rules without one
service reaching through another."""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, bindparam, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..core import codes
from ..core.counter_events import announce, insert_announced
from ..core.errors import DuplicateRequest, WalletError
from ..core.models import Merchant, Transaction, User
from ..core.notifications import Notice, insert_notified, insert_recorded, notify

__all__ = ["MAX_NOTE_CHARS", "Earlier", "clean_note", "duplicate", "earlier_or_refused",
           "idempotency_key", "note_problem", "record", "replay", "with_earlier"]

MAX_NOTE_CHARS = 140
#: A transaction made earlier with a form's key: its id, then the columns asked for.
Earlier = tuple[Any, ...]


@functools.cache
def _replay_query(names: tuple[str, ...]) -> Select[Any]:
    """id and ``names`` of the transaction with an idempotency key (built once:
    plain Core on the table, as every money request runs it)."""
    table = Transaction.__table__
    return (select(table.c.id, *(table.c[name] for name in names))
            .where(table.c.idempotency_key == bindparam("key")))


def idempotency_key(kind: str, owner: User | Merchant, request_key: str) -> str:
    """The ledger's key for a form's one-time token (refused if it is no token)."""
    if not codes.is_request_key(request_key):
        raise WalletError("This form is out of date. Reload the page and try again.")
    return codes.request_key(kind, owner.id, request_key)


def duplicate() -> DuplicateRequest:
    return DuplicateRequest(
        "This form was already submitted with other details. "
        "Check your recent transactions, then start again."
    )


def replay(db: Session, key: str, **expected: object) -> Transaction | None:
    """The transaction already made with this form key, if any; a key reused
    with other details (``expected`` column values) is refused."""
    # Columns first (every request asks; few are replays), the record only if one.
    names = tuple(expected)
    row = db.connection().execute(_replay_query(names), {"key": key}).first()
    if row is None:
        return None
    if any(row[i + 1] != expected[name] for i, name in enumerate(names)):
        raise duplicate()
    return db.get(Transaction, row.id)


def with_earlier(db: Session, stmt: Select[Any], key: str, names: tuple[str, ...],
                 params: Mapping[str, Any], *, leading: int = 1) -> tuple[Any, Earlier | None]:
    """The one entity ``stmt`` selects (or None) and, in the same query, the
    transaction already made with ``key`` (its id and ``names``), if any:
    a form submitted again is answered before its PIN is compared, at no
    extra round trip. ``stmt`` is built once by the caller, its values bound
    parameters (``params``; ``key`` is taken). ``leading``: how many columns
    ``stmt`` selects (more than one: they come back as a tuple)."""
    row = db.execute(_with_earlier(stmt, names), {**params, "key": key}).first()
    if row is None:
        return None, None
    found = row[0] if leading == 1 else tuple(row[:leading])
    return found, (None if row[leading] is None else tuple(row[leading:]))


@functools.lru_cache(maxsize=32)
def _with_earlier(stmt: Select[Any], names: tuple[str, ...]) -> Select[Any]:
    earlier = _replay_query(names).subquery()
    return stmt.add_columns(earlier).outerjoin(earlier, true())


def earlier_or_refused(db: Session, earlier: Earlier, **expected: object) -> Transaction:
    """The transaction ``earlier`` (from :func:`with_earlier`) if it was made
    with the same details; a key reused with other details is refused."""
    if any(earlier[i + 1] != value for i, value in enumerate(expected.values())):
        raise duplicate()
    return db.get_one(Transaction, earlier[0])


def record(db: Session, now: dt.datetime, parties: Mapping[str, User | Merchant],
           notice: tuple[int, Notice, str] | None = None, *, announced: bool = False,
           **values: object) -> Transaction:
    """A movement completed at once (a transfer, a payment): settled ``now``,
    with the ``notice`` (user id, kind, text) it sends, if any: both in one
    statement where the database can (insert_notified). ``announced``: a
    shop payment, whose counter event (wallet.core.counter_events) is written
    with it, in the same statement on PostgreSQL. ``parties``
    (relationship -> the user or shop in hand) are set as loaded, so that
    describing it loads none of them again (one query each: the identity map
    holds objects weakly, and the caller's may be gone)."""
    assert not (announced and notice), "a shop payment sends no notice"
    values = {"created_at": now, "updated_at": now, "settled_at": now, **values}
    if announced:
        tx = insert_announced(db, values)
    else:
        tx = (insert_recorded(db, values) if notice is None
              else insert_notified(db, values, *notice, now=now))
    if tx is None:
        tx = Transaction(**values)
        db.add(tx)
        db.flush()
        if notice is not None:
            notify(db, notice[0], notice[1], notice[2], tx, now=now)
        if announced:
            announce(db, tx)
    for name, party in parties.items():
        set_committed_value(tx, name, party)
    return tx


def clean_note(note: str) -> str:
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE_CHARS:
        raise WalletError(f"Keep the note to {MAX_NOTE_CHARS} characters.", "note")
    return note


def note_problem(note: str) -> str | None:
    """Why ``note`` is refused, or None (for forms that show every field's
    problem at once)."""
    try:
        clean_note(note)
    except WalletError as exc:
        return str(exc)
    return None
