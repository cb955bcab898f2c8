"""Sentences about the banks' measured delays (wallet.banking.bank_delays), for the
add-money and withdraw forms and a withdrawal's page."""
from __future__ import annotations

from typing import Any

from wallet.banking.bank_delays import BankDelays, Pace, describe_duration
from wallet.core.codes import Status


def payout_notes(delays: dict[str, BankDelays]) -> dict[str, dict[str, Any]]:
    return {code: _note(d, d.payouts.p50_s, "payouts", "money reaches the account")
            for code, d in delays.items()}


def deposit_notes(delays: dict[str, BankDelays]) -> dict[str, dict[str, Any]]:
    return {code: _note(d, d.deposits.p50_s, "payments", "confirms a payment")
            for code, d in delays.items()}


def _note(d: BankDelays, p50_s: float | None, what: str, done: str) -> dict[str, Any]:
    if p50_s is None:
        text = f"Not enough recent {what} to say how long {d.name} takes right now."
    else:
        text = f"{d.name} {what} are taking {describe_duration(p50_s)} right now."
    return {"text": text, "degraded": d.degraded,
            "reason": f"{d.name} is slow or failing right now ({d.reason})." if d.degraded
            else ""}


def withdrawal_progress(delays: BankDelays | None, status: str, age_s: float,
                        took_s: float | None) -> str:
    """'You asked for it 12 minutes ago, which is usual...' for an open payout; how long
    it took for a completed one."""
    if status == Status.COMPLETED and took_s is not None:
        return f"It took {describe_duration(took_s)} to reach your bank."
    if status not in Status.PAYOUT_IN_FLIGHT:
        return ""
    yours = f"You asked for it {describe_duration(age_s).removeprefix('about ')} ago"
    if delays is None or delays.payouts.p50_s is None:
        return f"{yours}."
    usual = describe_duration(delays.payouts.p50_s)
    if delays.payout_verdict(age_s) == Pace.USUAL and status != Status.NEEDS_REVIEW:
        return f"{yours}, which is usual: {delays.name} payouts are taking {usual} right now."
    return (f"{yours}, which is slower than usual ({delays.name} payouts are taking {usual} "
            f"right now); we're on it.")
