"""Holds (two-phase transfers): reserve now, then commit or release once.

A hold takes its amount out of the source's *available* balance at once (its
``held_paise`` grows); :meth:`HoldOperations.commit_hold` posts the movement
and :meth:`HoldOperations.release_hold` gives the amount back. Hold operations
lock the hold row first, then its accounts (ascending id).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row

from . import _statements as sql
from ._core import Locked
from ._posting import PostingCore
from .errors import (
    CurrencyMismatch,
    HoldAlreadyResolved,
    HoldNotFound,
    IdempotencyConflict,
    InvalidEntry,
)
from .invariants import check_present
from .money import check_paise
from .schema import holds
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
    ) -> Hold:
        """Reserve ``amount_paise`` of ``source`` for a later move to ``destination``.

        The amount leaves the source's available balance at once; the posted
        balance moves only on :meth:`commit_hold`. Idempotent by key.
        """
        check_paise(amount_paise)
        idempotency_key = check_key(idempotency_key)
        memo = check_memo(memo)
        metadata_ = check_metadata(metadata)
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
            entry_id = check_present(
                hold.commit_entry_id, "committed hold %s has no entry", hold_id
            )
            return replace(self.get_entry(entry_id), replayed=True)
        if hold.status != "pending":
            raise HoldAlreadyResolved(f"hold {hold_id} is {hold.status}")
        signed = [(hold.source_code, hold.amount_paise),
                  (hold.destination_code, -hold.amount_paise)]
        key = f"hold:{hold_id}:commit"
        memo = check_memo(memo if memo is not None else hold.memo)
        metadata_ = check_metadata(metadata if metadata is not None else hold.metadata)
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
