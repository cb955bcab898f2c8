"""Holds (two-phase transfers): reserve now, then commit or release once.

A hold takes its amount out of the source's *available* balance at once (its
``held_paise`` grows); :meth:`HoldOperations.commit_hold` posts the movement
and :meth:`HoldOperations.release_hold` gives the amount back. A commit may
move part of the amount (the rest is released in the same operation). A hold
may carry ``expires_at``: from then on it counts as released (the funds check
frees it when the money is needed, see :mod:`ledgerlib._expiry`) and
:meth:`HoldOperations.expire_holds` records it as ``expired`` for good. Each
hold is resolved exactly once -- committed, released or expired -- which the
database enforces too (a trigger refuses any change to a resolved hold).

Hold operations lock the hold row first, then its accounts (ascending id).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row

from . import _statements as sql
from ._core import Locked
from ._expiry import is_expired
from ._posting import PostingCore
from .errors import (
    CurrencyMismatch,
    HoldAlreadyResolved,
    HoldExpired,
    HoldNotFound,
    IdempotencyConflict,
    InvalidAmount,
    InvalidEntry,
)
from .invariants import check_present
from .money import check_paise
from .schema import accounts, holds
from .types import Entry, Hold
from .validation import check_key, check_memo, check_metadata, fingerprint_of


class HoldOperations(PostingCore):
    """Hold, commit and release (see :class:`ledgerlib.Ledger`)."""

    def hold(
        self,
        source: str,
        destination: str,
        amount_paise: int,
        *,
        idempotency_key: str | None = None,
        memo: str = "",
        metadata: Mapping[str, Any] | None = None,
        expires_at: dt.datetime | None = None,
    ) -> Hold:
        """Reserve ``amount_paise`` of ``source`` for a later move to ``destination``.

        The amount leaves the source's available balance at once; the posted
        balance moves only on :meth:`commit_hold`. Idempotent by key. With
        ``expires_at`` (aware, in the future) the hold counts as released from
        that instant on: it can no longer be committed, and the funds check
        and :meth:`expire_holds` give its amount back.
        """
        check_paise(amount_paise)
        idempotency_key = check_key(idempotency_key)
        memo = check_memo(memo)
        metadata_ = check_metadata(metadata)
        if source == destination:
            raise InvalidEntry("a hold needs two different accounts")
        if expires_at is not None:
            if not isinstance(expires_at, dt.datetime) or expires_at.tzinfo is None:
                raise InvalidEntry("expires_at must be an aware datetime")
            if expires_at <= self.clock():
                raise InvalidEntry("expires_at must be in the future")
        locked = self._lock_accounts({source, destination})
        if locked[source].currency != locked[destination].currency:
            raise CurrencyMismatch("a hold moves money within one currency")
        held_change = {source: amount_paise}
        shortfall = self._shortfall_after_expiry(locked, {}, held_change)
        if shortfall is not None:
            replay = self._replayed_hold(idempotency_key, locked, destination, amount_paise)
            if replay is not None:
                return replay
            raise shortfall
        hold_id = self._conn.execute(
            sql.insert_returning_id(
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
                "expires_at": expires_at,
            },
        ).scalar()
        if hold_id is None:  # the key was taken: nothing of ours was written
            return check_present(
                self._replayed_hold(idempotency_key, locked, destination, amount_paise),
                "conflicting insert but no hold found",
            )
        self._apply_balance_changes(locked, {}, held_change)
        return self.get_hold(hold_id)

    def _replayed_hold(
        self,
        idempotency_key: str | None,
        locked: Locked,
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
        """The hold with this id; :class:`~ledgerlib.HoldNotFound` if none."""
        return self._hold(hold_id, for_update=False)[0]

    def _hold(self, hold_id: int, *, for_update: bool) -> tuple[Hold, Row[Any]]:
        row = self._conn.execute(sql.hold_query(for_update), {"hold_id": hold_id}).first()
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
            expires_at=row.expires_at,
            committed_paise=(
                None if row.status != "committed" else row.committed_paise or row.amount_paise
            ),
        )
        return hold, row

    def commit_hold(
        self,
        hold_id: int,
        amount_paise: int | None = None,
        *,
        memo: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Post ``amount_paise`` (default: all of it) from source to destination.

        Whatever part of the hold is not committed is released in the same
        operation; the hold ends either way. Committing a committed hold
        (with no amount or the same amount) returns its entry again, no
        second movement; any other amount raises :class:`~ledgerlib.HoldAlreadyResolved`,
        as does committing a released hold. A hold past its ``expires_at``
        raises :class:`~ledgerlib.HoldExpired`.
        """
        hold, row = self._hold(hold_id, for_update=True)
        amount = hold.amount_paise if amount_paise is None else check_paise(amount_paise)
        if hold.status == "committed":
            if amount_paise is not None and amount_paise != hold.committed_paise:
                raise HoldAlreadyResolved(
                    f"hold {hold_id} was committed for {hold.committed_paise}"
                )
            entry_id = check_present(
                hold.commit_entry_id, "committed hold %s has no entry", hold_id
            )
            return replace(self.get_entry(entry_id), replayed=True)
        self._check_still_pending(hold)
        if amount > hold.amount_paise:
            raise InvalidAmount(
                f"cannot commit {amount} of hold {hold_id}: it holds {hold.amount_paise}"
            )
        signed = [(hold.source_code, amount), (hold.destination_code, -amount)]
        key = f"hold:{hold_id}:commit"
        memo = check_memo(memo if memo is not None else hold.memo)
        metadata_ = check_metadata(metadata if metadata is not None else hold.metadata)
        if amount == hold.amount_paise:  # the fast path commits whole holds only
            fast = self._fast_post(
                signed, key, fingerprint_of("hold-commit", signed), memo, metadata_, hold=hold
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
            .values(
                status="committed", commit_entry_id=entry.id, resolved_at=entry.created_at,
                committed_paise=None if amount == hold.amount_paise else amount,
            )
        )
        return entry

    def _check_still_pending(self, hold: Hold) -> None:
        """Raise unless the (locked) hold may still be committed."""
        if hold.status == "expired" or (
            hold.status == "pending" and is_expired(hold.expires_at, self.clock())
        ):
            raise HoldExpired(f"hold {hold.id} expired at {hold.expires_at}")
        if hold.status != "pending":
            raise HoldAlreadyResolved(f"hold {hold.id} is {hold.status}")

    def release_hold(self, hold_id: int) -> Hold:
        """Give the held amount back to the source's available balance.

        Releasing a released or expired hold is a no-op; releasing a committed
        hold raises :class:`~ledgerlib.HoldAlreadyResolved`. A pending hold past its
        ``expires_at`` is recorded as ``expired`` (that is what ended it).
        """
        hold, _ = self._hold(hold_id, for_update=True)
        if hold.status in ("released", "expired"):
            return hold
        if hold.status != "pending":
            raise HoldAlreadyResolved(f"hold {hold_id} is {hold.status}")
        now = self.clock()
        locked = self._lock_accounts({hold.source_code})
        self._apply_balance_changes(locked, {}, {hold.source_code: -hold.amount_paise})
        self._conn.execute(
            update(holds)
            .where(holds.c.id == hold_id)
            .values(
                status="expired" if is_expired(hold.expires_at, now) else "released",
                resolved_at=now,
            )
        )
        return self.get_hold(hold_id)

    def expire_holds(self, *, limit: int = 1000) -> list[Hold]:
        """Record up to ``limit`` pending holds past their ``expires_at`` as ``expired``.

        The sweep to call periodically (the funds check already treats them as
        released; this gives the amount back in the stored balances too).
        Holds another transaction has locked are skipped, not waited for.
        Returns the holds it expired, oldest first.
        """
        now = self.clock()
        rows = self._conn.execute(
            select(holds.c.id, holds.c.source_account_id, holds.c.amount_paise)
            .where(holds.c.status == "pending", holds.c.expires_at <= now)
            .order_by(holds.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, key_share=True)
        ).all()
        if not rows:
            return []
        by_account: dict[int, int] = defaultdict(int)
        for row in rows:
            by_account[row.source_account_id] += row.amount_paise
        codes = dict(self._conn.execute(
            select(accounts.c.id, accounts.c.code).where(accounts.c.id.in_(by_account))
        ).all())
        locked = self._lock_accounts(set(codes.values()))
        self._record_expired(
            [row.id for row in rows], locked,
            {codes[account_id]: -amount for account_id, amount in by_account.items()},
        )
        return [self.get_hold(row.id) for row in rows]

    def pending_holds(self, code: str) -> list[Hold]:
        """The account's holds that are not yet resolved, oldest first.

        Includes holds past their ``expires_at`` that no one has recorded yet.
        """
        account_id = self.get_account(code).id
        ids = self._conn.execute(
            select(holds.c.id)
            .where(holds.c.source_account_id == account_id, holds.c.status == "pending")
            .order_by(holds.c.id)
        ).scalars()
        return [self.get_hold(hold_id) for hold_id in ids]
