"""What the driver of a failover run was told, and the check that the
database still says the same afterwards.

Every money request carries a request key the driver made. A request the app
acknowledged (303 to the new transaction's page) is an :class:`Ack`: the
person was told it happened, so after any failover the transaction must exist,
exactly once, with its amount, its ledger entry and the idempotency key of
that form. A 503 (with ``Retry-After``) or no answer at all means "not known":
the driver sends the same form again (same key), as a person would, and only
an acknowledgement counts. Requests are also kept as :class:`Outcome` s, from
which the recovery time after a fault is read: from the first request refused
after the fault to the first one accepted after that.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledgerlib
from wallet.models import Transaction

#: The form kinds and their idempotency-key prefix (wallet.codes.request_key).
KEY_PURPOSE = {"send": "transfer", "pay": "payment", "withdraw": "withdrawal"}


@dataclass(frozen=True)
class Ack:
    form: str  # send, pay or withdraw
    owner_id: int
    request_key: str
    tx_id: int
    amount_paise: int

    @property
    def idempotency_key(self) -> str:
        return f"{KEY_PURPOSE[self.form]}:{self.owner_id}:{self.request_key}"


@dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    status: int  # 0: no answer
    retry_after: bool = False

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 400

    @property
    def refused(self) -> bool:
        """Not served: a 5xx or no answer (a 4xx is the form's own business)."""
        return self.status == 0 or self.status >= 500

    @property
    def allowed_refusal(self) -> bool:
        """The documented answer while no primary can be reached."""
        return self.status == 503 and self.retry_after


@dataclass
class AckLog:
    acks: list[Ack] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, ack: Ack) -> None:
        with self.lock:
            self.acks.append(ack)

    def outcome(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter("accepted" if o.accepted else "503 Retry-After"
                           if o.allowed_refusal else f"status {o.status}"
                           for o in self.outcomes)

    def recovery_s(self, fault_at: float, until: float | None = None) -> float | None:
        """From the start of the first request refused (or unanswered) after
        ``fault_at`` to the answer of the first one accepted after it; 0.0 if
        none was refused (before ``until``), None if none was accepted after."""
        with self.lock:
            seen = sorted((o for o in self.outcomes if o.started >= fault_at
                           and (until is None or o.started < until)), key=lambda o: o.started)
        refused = next((o for o in seen if o.refused), None)
        if refused is None:
            return 0.0
        back = [o.ended for o in seen if o.accepted and o.started >= refused.started]
        return round(min(back) - refused.started, 2) if back else None

    def unexpected_answers(self) -> list[Outcome]:
        """5xx other than 503 with Retry-After (a 4xx is the form's business)."""
        with self.lock:
            return [o for o in self.outcomes if o.status >= 500 and not o.allowed_refusal]


def check_acks(session: Session, acks: list[Ack]) -> list[str]:
    """Every acknowledged operation is in the database exactly once, as told."""
    problems: list[str] = []
    by_id = {ack.tx_id: ack for ack in acks}
    if len(by_id) != len(acks):
        problems.append(f"{len(acks) - len(by_id)} acknowledgements named an id twice")
    found: dict[int, Transaction] = {}
    ids = sorted(by_id)
    for start in range(0, len(ids), 500):
        found.update((tx.id, tx) for tx in session.scalars(
            select(Transaction).where(Transaction.id.in_(ids[start:start + 500]))))
    entries = ledgerlib.tables.entries
    keys = [ack.idempotency_key for ack in acks]
    copies: Counter[str] = Counter()
    for start in range(0, len(keys), 500):
        copies.update(dict(session.execute(
            select(Transaction.idempotency_key, func.count())
            .where(Transaction.idempotency_key.in_(keys[start:start + 500]))
            .group_by(Transaction.idempotency_key)).tuples().all()))
    entry_ids = {tx.ledger_entry_id for tx in found.values() if tx.ledger_entry_id}
    present: set[int] = set()
    listed = sorted(entry_ids)
    for start in range(0, len(listed), 500):
        present.update(session.scalars(select(entries.c.id).where(
            entries.c.id.in_(listed[start:start + 500]))))
    lost = [ack for ack in acks if ack.tx_id not in found]
    if lost:
        problems.append(f"{len(lost)} acknowledged operations lost, e.g. {lost[:3]}")
    for ack in acks:
        tx = found.get(ack.tx_id)
        if tx is None:
            continue
        if tx.idempotency_key != ack.idempotency_key or tx.amount_paise != ack.amount_paise:
            problems.append(f"tx {ack.tx_id} is not what was acknowledged: {ack}")
        elif copies[ack.idempotency_key] != 1:
            problems.append(f"{ack.idempotency_key} recorded {copies[ack.idempotency_key]} times")
        elif ack.form != "withdraw" and tx.ledger_entry_id not in present:
            problems.append(f"tx {ack.tx_id} acknowledged but its ledger entry is missing")
    return problems


def now() -> float:
    return time.monotonic()
