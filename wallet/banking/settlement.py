"""Each bank's settlement account, split into shards so that the bank's
deposits and payouts do not all queue for one row.

Every deposit and payout moves money between a wallet and the bank's
settlement account (an asset: our money at the bank), which the ledger locks
and updates. With one such account per bank, a bank's traffic would be serial
however many servers run. So each bank has N of them
(``banks.<code>.settlement_shards``, default ``banks.settlement_shards``, else 8):

    bank:<bank>:settlement        shard 0: the single account of old (its balance stays)
    bank:<bank>:settlement:<k>    shard k, 1 <= k < N, opened on first use

An operation starts from the shard its own reference hashes to (a deposit's
token, a payout's reference), so concurrent operations are spread evenly; on
PostgreSQL it moves on to the next shard when another transaction works on
that one right now (a transaction-level advisory lock, tried and never waited
for: safe behind PgBouncer in transaction mode, and never a deadlock). A
payout's later steps (paid, returned) use the shard its hold named.

The bank's position is the sum of all its shards, whatever N is today:
lowering N leaves the money of the shards no longer chosen counted.
"""
from __future__ import annotations

import zlib
from collections import defaultdict

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ledgerlib import Ledger
from ledgerlib import tables as lt

from ..core import codes
from ..core.codes import Kind, Status
from ..core.models import Transaction

#: The first key of the advisory locks that mark a shard busy (the second is
#: the shard): one namespace per bank, kept apart from any other lock's.
_LOCK_NAMESPACE = "wallet.banking.settlement:"

# The first shard from :start on that no other transaction marks busy, marked
# busy for ours (LIMIT 1 stops the scan: later shards are not tried), and
# whether its account is open yet.
_FIRST_FREE_SHARD = text(
    "SELECT k, EXISTS (SELECT 1 FROM ledger_accounts AS a WHERE a.code ="
    "   CASE WHEN k = 0 THEN :base ELSE :base || ':' || k END) AS opened"
    " FROM (SELECT (:start + i) % :shards AS k"
    "       FROM generate_series(0, :shards - 1) AS i) AS candidates"
    " WHERE pg_try_advisory_xact_lock(:bank_key, k) LIMIT 1")


def _int32(value: int) -> int:
    return value - 2**32 if value >= 2**31 else value


def home_shard(reference: str, shards: int) -> int:
    """The shard ``reference`` hashes to (stable across processes and runs)."""
    return zlib.crc32(reference.encode()) % shards


def account_for(ledger: Ledger, bank_code: str, shards: int, reference: str) -> str:
    """The settlement shard a deposit or payout with ``reference`` moves money
    through, opened if new; call it in the transaction that posts."""
    shard = home_shard(reference, shards)
    conn = ledger.session.connection()
    if shards > 1 and conn.dialect.name == "postgresql":
        bank_key = _int32(zlib.crc32((_LOCK_NAMESPACE + bank_code).encode()))
        free = conn.execute(_FIRST_FREE_SHARD, {
            "start": shard, "shards": shards, "bank_key": bank_key,
            "base": codes.bank_settlement(bank_code)}).first()
        if free is not None:  # (else all are busy: wait for the home shard's row lock)
            code = codes.bank_settlement(bank_code, int(free.k))
            if not free.opened:
                ledger.open_account(code, "asset", allow_negative=True)
            return code
    code = codes.bank_settlement(bank_code, shard)
    ledger.open_account(code, "asset", allow_negative=True)
    return code


def shard_balances(session: Session) -> dict[str, dict[str, int]]:
    """bank -> {shard's code: posted balance}, for every shard opened so far."""
    accounts = lt.accounts
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for code, posted in session.connection().execute(
            select(accounts.c.code, accounts.c.posted_paise)
            .where(accounts.c.code.like(codes.SETTLEMENT_LIKE))):
        bank = codes.settlement_bank(code)
        if bank is not None:
            found[bank][code] = posted
    return dict(found)


def positions(session: Session) -> dict[str, int]:
    """Each bank's position: the posted balances of all its shards, summed."""
    return {bank: sum(shards.values()) for bank, shards in shard_balances(session).items()}


def position(session: Session, bank_code: str) -> int:
    """The bank's position (0 before its first deposit)."""
    return positions(session).get(bank_code, 0)


def expected_positions(session: Session) -> dict[str, int]:
    """Each bank's position as our records say it should be: successful
    deposits in, completed payouts out (a payout the bank returned nets to 0)."""
    found: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(Transaction.bank_code, Transaction.kind, func.sum(Transaction.amount_paise))
        .where(Transaction.bank_code.is_not(None),
               ((Transaction.kind == Kind.DEPOSIT) & (Transaction.status == Status.SUCCESS))
               | ((Transaction.kind == Kind.WITHDRAWAL)
                  & (Transaction.status == Status.COMPLETED)))
        .group_by(Transaction.bank_code, Transaction.kind))
    for bank_code, kind, total in rows:
        if bank_code is not None:  # (the query's where says so; for the type checker)
            found[bank_code] += int(total) if kind == Kind.DEPOSIT else -int(total)
    return dict(found)
