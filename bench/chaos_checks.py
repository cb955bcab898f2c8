"""The checks at the end of a chaos run (bench/chaos.py): the ledger verifies,
money is conserved to the paisa across our ledger and the bank's books, no
wallet is negative, every deposit is credited once, every payout paid once or
refunded, one payout at a time per owner, and no 5xx while the database was up."""
from __future__ import annotations

import collections

from sqlalchemy import func, select

import ledgerlib
from bench.faults import Faults
from fake_bank.models import ApiCall, Payment, Payout
from wallet.banking.models import Withdrawal
from wallet.banking.settlement import position as settlement_position
from wallet.core.models import Transaction
from wallet.db import WalletSession
from wallet.operations.bank_calls import cross_check


def check(engine, bank_books, stats, faults: Faults) -> list[str]:
    problems = []
    with WalletSession(engine) as session:
        report = ledgerlib.verify(session)
        if not report.ok:
            problems.append("ledger verify: " + "; ".join(report.problems[:3]))
        records = cross_check(session)
        if records:
            problems.append("records vs ledger: " + "; ".join(records[:3]))
        accounts = ledgerlib.schema.accounts
        negative = session.scalar(select(func.count()).select_from(accounts).where(
            accounts.c.allow_negative.is_(False),
            accounts.c.posted_paise - accounts.c.held_paise < 0))
        if negative:
            problems.append(f"{negative} wallets below zero")
        deposits = {tx.token: tx for tx in session.scalars(select(Transaction).where(
            Transaction.kind == "deposit"))}
        withdrawals = {f"wd_{tx.id}": tx for tx in session.scalars(select(Transaction).where(
            Transaction.kind == "withdrawal"))}
        owner_of = {f"wd_{wd.transaction_id}": wd.user_id or -wd.merchant_id
                    for wd in session.scalars(select(Withdrawal))}
        in_wallets = session.scalar(select(func.sum(accounts.c.posted_paise)).where(
            accounts.c.kind == "liability")) or 0
        # The settlement shards (an asset) hold what came in less what went out.
        settlement = settlement_position(session, "hdfc")
    with bank_books() as bank_db:
        payments = {p.reference: p for p in bank_db.scalars(select(Payment))}
        payouts = {p.reference: p for p in bank_db.scalars(select(Payout))}
        calls = bank_db.scalars(select(ApiCall).where(ApiCall.kind == "payout")
                                .order_by(ApiCall.started_at)).all()
    approved = {ref for ref, p in payments.items() if p.status == "approved"}
    credited = {token for token, tx in deposits.items() if tx.status == "success"}
    if credited != approved & deposits.keys():
        problems.append(f"deposits: {len(approved - credited)} approved but not credited, "
                        f"{len(credited - approved)} credited but not approved")
    for ref, tx in withdrawals.items():
        bank = payouts.get(ref)
        paid = bank is not None and bank.status in ("accepted", "reversed")
        if tx.status == "completed" and not (paid and bank.status == "accepted"):
            problems.append(
                f"{ref} completed but the bank says {bank.status if bank else 'nothing'}")
        if tx.status == "failed" and paid:
            problems.append(f"{ref} refunded although the bank paid it")
        if tx.status == "reversed" and not (bank and bank.status == "reversed"):
            problems.append(f"{ref} reversed but the bank did not reverse it")
        if tx.status not in ("completed", "failed", "reversed"):
            problems.append(f"{ref} left {tx.status}")
    # Money in == money out: what the bank took from customers, less what it paid out
    # (and kept), is exactly what our wallets hold.
    taken = sum(payments[r].amount_paise for r in approved)
    paid_out = sum(p.amount_paise for p in payouts.values() if p.status == "accepted")
    stats["money in wallets (paise)"] = in_wallets
    if not taken - paid_out == in_wallets == settlement:
        problems.append(f"conservation: bank took {taken}, paid out {paid_out}, "
                        f"wallets hold {in_wallets}, settlement shows {settlement}")
    # One payout at a time per owner, as the bank saw the calls.
    by_owner = collections.defaultdict(list)
    for call in calls:
        by_owner[owner_of.get(call.reference)].append(call)
    # A call "holds" the owner's lane at the bank from its start until the bank
    # decided it (a slow reply after the decision is the network's, not a payout);
    # calls that failed before deciding did nothing.
    overlaps = 0
    for owner_calls in by_owner.values():
        decided = [c for c in owner_calls if c.decided_at is not None]
        overlaps += sum(1 for a, b in zip(decided, decided[1:], strict=False)
                        if b.started_at < a.decided_at)
    if overlaps:
        problems.append(f"{overlaps} overlapping payout calls for one owner")
    # 503 while the database is down is the right answer; any other 5xx is a bug.
    excused = [(t0, t1, status, url) for t0, t1, status, url in stats.get("5xx", [])
               if status == 503 and faults.database_down(t0, t1)]
    stats["503 while the database was down"] = len(excused)
    wrong = [f"{status} {url} at {faults.nearest(t0)}"
             for t0, t1, status, url in stats.get("5xx", [])
             if (t0, t1, status, url) not in excused]
    # No answer at all is wrong too, unless the database was failing over then.
    unanswered = [url for t0, t1, url in stats.get("unanswered", [])
                  if not faults.database_down(t0, t1)]
    if wrong or unanswered:
        problems.append(f"{len(wrong)} answers 5xx while the database was up ({wrong[:3]}), "
                        f"{len(unanswered)} requests unanswered ({unanswered[:3]})")
    stats["deposits credited"] = len(credited)
    stats["withdrawals paid"] = sum(1 for tx in withdrawals.values() if tx.status == "completed")
    stats["withdrawals refunded"] = sum(1 for tx in withdrawals.values()
                                        if tx.status in ("failed", "reversed"))
    return problems
