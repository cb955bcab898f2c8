"""Value objects the ledger takes and returns: immutable snapshots, not live rows."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .schema import DEBIT_NORMAL_KINDS

Side = Literal["debit", "credit"]


@dataclass(frozen=True, slots=True)
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
    #: How far below zero the available balance may go (ignored with allow_negative).
    overdraft_limit_paise: int = 0

    @property
    def normal_side(self) -> Side:
        return "debit" if self.kind in DEBIT_NORMAL_KINDS else "credit"


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


@dataclass(frozen=True, slots=True)
class Posting:
    """A posted leg. ``amount_paise`` is signed: positive debit, negative credit."""

    account_code: str
    amount_paise: int
    currency: str


@dataclass(frozen=True, slots=True)
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
    """A reservation of ``amount_paise`` from ``source_code`` for ``destination_code``.

    ``status`` is ``pending`` until it is resolved, exactly once: ``committed``
    (``committed_paise`` moved, the rest released), ``released``, or
    ``expired`` (released because ``expires_at`` passed). A pending hold whose
    ``expires_at`` has passed already counts as released for the funds check.
    """

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
    expires_at: dt.datetime | None = None
    #: The amount the commit moved (``amount_paise`` or less); None unless committed.
    committed_paise: int | None = None


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
    #: The account's posted balance right after this posting.
    balance_after_paise: int | None = None


@dataclass(frozen=True)
class HistoryPage:
    items: tuple[HistoryItem, ...]
    #: Pass back as ``cursor`` for the next (older) page; None on the last page.
    next_cursor: str | None


@dataclass(frozen=True)
class PeriodBalances:
    """An account's posted balance at the start and at the end of ``[start, end)``.

    ``opening_paise`` counts the postings before ``start``, ``closing_paise``
    those before ``end`` (normal side, holds not included).
    """

    account_code: str
    currency: str
    start: dt.datetime
    end: dt.datetime
    opening_paise: int
    closing_paise: int

    @property
    def change_paise(self) -> int:
        return self.closing_paise - self.opening_paise
