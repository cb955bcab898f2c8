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

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledgerlib
from wallet.core.models import Transaction

#: The form kinds and their idempotency-key prefix (wallet.core.codes.request_key).
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

    def slowest_s(self, start: float, until: float | None = None) -> float:
        """The longest wait for an answer among requests started in the window
        (a failover the app's own retries hid shows here, not as a refusal)."""
        with self.lock:
            waits = [o.ended - o.started for o in self.outcomes if o.started >= start
                     and (until is None or o.started < until)]
        return round(max(waits, default=0.0), 2)

    def unexpected_answers(self) -> list[Outcome]:
        """5xx other than 503 with Retry-After (a 4xx is the form's business)."""
        with self.lock:
            return [o for o in self.outcomes if o.status >= 500 and not o.allowed_refusal]


def check_acks(session: Session, acks: list[Ack]) -> list[str]:
    """Every acknowledged operation is in the database exactly once, as told:
    its idempotency key found, with the id and amount the person was shown,
    and (money moved at once) its ledger entry."""
    keys = [ack.idempotency_key for ack in acks]
    found: dict[str, list[Transaction]] = {}
    for start in range(0, len(keys), 500):
        for tx in session.scalars(select(Transaction).where(
                Transaction.idempotency_key.in_(keys[start:start + 500]))):
            found.setdefault(tx.idempotency_key, []).append(tx)
    entries = ledgerlib.tables.entries
    entry_ids = sorted({tx.ledger_entry_id for txs in found.values() for tx in txs
                        if tx.ledger_entry_id})
    present: set[int] = set()
    for start in range(0, len(entry_ids), 500):
        present.update(session.scalars(select(entries.c.id).where(
            entries.c.id.in_(entry_ids[start:start + 500]))))
    lost = [ack for ack in acks if ack.idempotency_key not in found]
    problems = []
    if lost:
        problems.append(f"{len(lost)} of {len(acks)} acknowledged operations lost, "
                        f"e.g. {lost[:2]}")
    for ack in acks:
        txs = found.get(ack.idempotency_key, [])
        if len(txs) > 1:
            problems.append(f"{ack.idempotency_key} recorded {len(txs)} times")
        elif txs and (txs[0].id, txs[0].amount_paise) != (ack.tx_id, ack.amount_paise):
            problems.append(f"{ack} is now tx {txs[0].id} of {txs[0].amount_paise} paise")
        elif txs and ack.form != "withdraw" and txs[0].ledger_entry_id not in present:
            problems.append(f"tx {ack.tx_id} acknowledged but its ledger entry is missing")
    reused = len(acks) - len({ack.tx_id for ack in acks})
    if reused:  # a lost transaction's id given again after the failover
        problems.append(f"{reused} acknowledged ids were given to two operations")
    return problems


def now() -> float:
    return time.monotonic()
