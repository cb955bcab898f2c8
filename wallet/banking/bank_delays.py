"""How long each bank is taking right now, measured from our own records and
shown to users where they decide ("HDFC payouts are taking about 4 minutes
right now") and on a withdrawal's page ("yours is at 12 minutes, which is
usual").

Per bank: the latest settled payouts (request to money sent: a completed
withdrawal's ``created_at`` to ``settled_at``, the bank's acceptance) and
deposits (start to confirmation), within a recent window, at most
``samples`` of each; their p50 and p90. A bank is *degraded* when either p90,
or the age of its oldest open payout, passes a threshold, or when too many of
its recent payout calls had no clear answer. Every query is bounded (a time
window on the ``(kind, status, created_at)`` index, a row limit), so a page may
measure; the web layer still reuses a measurement for a few seconds.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..core.codes import AttemptKind, AttemptOutcome, Kind, Status, utcnow
from ..core.models import Transaction
from .banks import BankConfig
from .models import PayoutAttempt


class Pace(StrEnum):
    """How an open payout's age compares with the bank's recent payouts."""

    USUAL = "usual"
    SLOWER = "slower"

@dataclass(frozen=True)
class DelayPolicy:
    window_s: float = 6 * 3600.0
    samples: int = 20
    degraded_p90_s: float = 900.0
    degraded_failure_ratio: float = 0.25
    #: Fewer settled samples (or payout calls) than this say nothing.
    min_samples: int = 3



@dataclass(frozen=True)
class Delay:
    """Seconds from start to done over ``samples`` recent settled ones."""

    samples: int
    p50_s: float | None
    p90_s: float | None

    @classmethod
    def of(cls, seconds: list[float], min_samples: int) -> Delay:
        if len(seconds) < min_samples:
            return cls(len(seconds), None, None)
        ordered = sorted(seconds)
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 90))


@dataclass(frozen=True)
class BankDelays:
    code: str
    name: str
    payouts: Delay
    deposits: Delay
    oldest_open_payout_s: float
    payout_calls: int
    unclear_payout_calls: int
    degraded: bool
    reason: str  # why degraded ("" when not)

    def payout_verdict(self, age_s: float) -> Pace:
        """Usual or slower, for a payout open for ``age_s``."""
        p90 = self.payouts.p90_s
        return Pace.SLOWER if p90 is not None and age_s > max(p90, 60.0) else Pace.USUAL


def percentile(ordered: list[float], p: int) -> float:
    """Nearest-rank percentile of a sorted, non-empty list."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _age_s(later: dt.datetime, earlier: dt.datetime) -> float:
    if (later.tzinfo is None) != (earlier.tzinfo is None):  # SQLite: naive UTC
        later, earlier = later.replace(tzinfo=None), earlier.replace(tzinfo=None)
    return max(0.0, (later - earlier).total_seconds())


class BankDelayMeter:
    def __init__(self, db: Session, banks: dict[str, BankConfig],
                 *, policy: DelayPolicy, now: dt.datetime | None = None):
        self.db = db
        self.banks = banks
        self.policy = policy
        self.now = now or utcnow()
        self.since = self.now - dt.timedelta(seconds=policy.window_s)

    def measure(self) -> dict[str, BankDelays]:
        """Every configured bank's delays, in the registry's order."""
        oldest_open = self._oldest_open_payouts()
        calls = self._payout_calls()
        return {code: self._bank(code, bank, oldest_open.get(code), calls.get(code, (0, 0)))
                for code, bank in self.banks.items()}

    def _bank(self, code: str, bank: BankConfig, oldest_open: dt.datetime | None,
              calls: tuple[int, int]) -> BankDelays:
        policy = self.policy
        payouts = Delay.of(self._settled(code, Kind.WITHDRAWAL, Status.COMPLETED),
                           policy.min_samples)
        deposits = Delay.of(self._settled(code, Kind.DEPOSIT, Status.SUCCESS),
                            policy.min_samples)
        open_s = _age_s(self.now, oldest_open) if oldest_open is not None else 0.0
        total, unclear = calls
        reasons = []
        if payouts.p90_s is not None and payouts.p90_s > policy.degraded_p90_s:
            reasons.append("payouts are slow")
        if open_s > policy.degraded_p90_s:
            reasons.append("a payout has been waiting long")
        if deposits.p90_s is not None and deposits.p90_s > policy.degraded_p90_s:
            reasons.append("deposits are slow")
        if total >= policy.min_samples and unclear / total >= policy.degraded_failure_ratio:
            reasons.append("the bank is not answering clearly")
        return BankDelays(code, bank.name, payouts, deposits, open_s, total, unclear,
                          bool(reasons), "; ".join(reasons))

    def _settled(self, code: str, kind: str, status: str) -> list[float]:
        rows = self.db.execute(
            select(Transaction.created_at, Transaction.settled_at)
            .where(Transaction.kind == kind, Transaction.status == status,
                   Transaction.created_at >= self.since, Transaction.bank_code == code,
                   Transaction.settled_at.is_not(None))
            .order_by(Transaction.created_at.desc()).limit(self.policy.samples))
        return [_age_s(settled, created) for created, settled in rows if settled is not None]

    def _oldest_open_payouts(self) -> dict[str, dt.datetime]:
        rows = self.db.execute(
            select(Transaction.bank_code, func.min(Transaction.created_at))
            .where(Transaction.kind == Kind.WITHDRAWAL,
                   Transaction.status.in_(Status.PAYOUT_OPEN))
            .group_by(Transaction.bank_code))
        return {code: oldest for code, oldest in rows if code is not None}

    def _payout_calls(self) -> dict[str, tuple[int, int]]:
        """bank -> (bank calls about recent payouts, those without a clear answer)."""
        unclear = func.sum(case((PayoutAttempt.outcome == AttemptOutcome.UNKNOWN, 1), else_=0))
        rows = self.db.execute(
            select(Transaction.bank_code, func.count(), unclear)
            .join(PayoutAttempt, PayoutAttempt.transaction_id == Transaction.id)
            .where(Transaction.kind == Kind.WITHDRAWAL, Transaction.created_at >= self.since,
                   PayoutAttempt.kind.in_((AttemptKind.SEND, AttemptKind.STATUS)),
                   PayoutAttempt.outcome != AttemptOutcome.IN_PROGRESS)
            .group_by(Transaction.bank_code))
        return {code: (int(total), int(bad or 0)) for code, total, bad in rows
                if code is not None}


def describe_duration(seconds: float) -> str:
    """'under a minute', 'about 4 minutes', 'about 2 hours' for people."""
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(seconds / 3600)
    return f"about {hours} hour{'s' if hours != 1 else ''}"
