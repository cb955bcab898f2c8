"""Expired holds count as released: the funds check frees them when needed.

A pending hold whose ``expires_at`` has passed still sits in its source's
stored ``held_paise`` until someone records it. When an operation would
otherwise be refused for lack of funds, :meth:`ExpiryCore._shortfall_after_expiry`
looks for such holds on the short accounts and, if freeing them covers the
operation, marks them ``expired`` and gives their amount back -- on the rows
already locked, before the operation's own writes. If it would not cover it,
nothing is written and the original shortfall stands (a refused operation
writes nothing).

Lock order: a hold operation locks its hold row, then accounts; here we
already hold account locks, so hold rows are taken with ``SKIP LOCKED``: a
hold that another transaction is committing or releasing is left to it, and
no two transactions can wait on each other.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet

from sqlalchemy import bindparam, select, update

from ._core import LedgerCore, Locked
from .errors import InsufficientFunds
from .schema import holds

MARK_EXPIRED = (
    update(holds)
    .where(holds.c.id.in_(bindparam("ids", expanding=True)), holds.c.status == "pending")
    .values(status="expired", resolved_at=bindparam("now", type_=holds.c.resolved_at.type))
)


def is_expired(expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    """True once a hold with this ``expires_at`` counts as released."""
    return expires_at is not None and expires_at <= now


class ExpiryCore(LedgerCore):
    """Freeing expired holds inside the funds check (see the module docstring)."""

    def _shortfall_after_expiry(
        self,
        locked: Locked,
        posted_change: Mapping[str, int],
        held_change: Mapping[str, int],
        *,
        keep_hold_id: int | None = None,
    ) -> InsufficientFunds | None:
        """:meth:`~ledgerlib._core.LedgerCore._first_shortfall`, counting
        expired holds of short accounts as released.

        Frees (writes) only when that makes the operation pass; ``keep_hold_id``
        (the hold being committed) is never freed.
        """
        shortfall = self._first_shortfall(locked, posted_change, held_change)
        if shortfall is None:
            return None
        plan = self._expiry_plan(locked, posted_change, held_change, keep_hold_id=keep_hold_id)
        if plan is None:
            return shortfall
        hold_ids, freed = plan
        self._record_expired(hold_ids, locked, freed)
        return None

    def _expiry_plan(
        self,
        locked: Locked,
        posted_change: Mapping[str, int],
        held_change: Mapping[str, int],
        *,
        keep_hold_id: int | None = None,
        skip_accounts: AbstractSet[int] = frozenset(),
    ) -> tuple[list[int], dict[str, int]] | None:
        """The expired pending holds of the short accounts (locked, nothing
        written) and the held amount freeing them gives back per account code
        (negative), if that covers the operation; else None. Accounts in
        ``skip_accounts`` are known to have no more expired holds: not queried."""
        paying = [  # (an account holding nothing has nothing to free: no query)
            acc.id for code, acc in locked.items()
            if not acc.allow_negative and acc.held_paise > 0 and acc.id not in skip_accounts
            and posted_change.get(code, 0) - held_change.get(code, 0) < 0
        ]
        expired = self._expired_holds_of(paying, keep_hold_id)
        if not expired:
            return None
        freed: dict[str, int] = defaultdict(int)
        for _, account_id, amount in expired:
            freed[self._code_of(locked, account_id)] -= amount
        with_freed = {code: held_change.get(code, 0) + freed.get(code, 0)
                      for code in held_change.keys() | freed.keys()}
        if self._first_shortfall(locked, posted_change, with_freed) is not None:
            return None
        return [hold_id for hold_id, _, _ in expired], dict(freed)

    def _expired_holds_of(
        self, account_ids: Iterable[int], keep_hold_id: int | None
    ) -> list[tuple[int, int, int]]:
        """(hold id, source account id, amount) of expired pending holds, locked (skip locked)."""
        ids = sorted(account_ids)
        if not ids:
            return []
        stmt = (
            select(holds.c.id, holds.c.source_account_id, holds.c.amount_paise)
            .where(
                holds.c.source_account_id.in_(ids),
                holds.c.status == "pending",
                holds.c.expires_at <= self.clock(),
            )
            .order_by(holds.c.id)
            .with_for_update(skip_locked=True, key_share=True)
        )
        if keep_hold_id is not None:
            stmt = stmt.where(holds.c.id != keep_hold_id)
        return [(r.id, r.source_account_id, r.amount_paise) for r in self._conn.execute(stmt)]

    def _record_expired(
        self, hold_ids: list[int], locked: Locked, freed: Mapping[str, int]
    ) -> None:
        """Mark the (locked, pending) holds expired and give back their held amounts."""
        self._conn.execute(MARK_EXPIRED, {"ids": hold_ids, "now": self.clock()})
        self._apply_balance_changes(locked, {}, freed)
