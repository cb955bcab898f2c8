"""A busy shop's receiving balance, spread over shards so that its payers do
not all queue for one ledger row (issue #25: 100 payers into one shop).

Every payment locks and updates the account it credits. A shop's payments
all credited its one wallet account, so a shop taking a rush was serial
however many servers run. A shop now has N receiving accounts
(``merchants.receiving_shards``, default 1), the pattern of the banks'
settlement shards (wallet.banking.settlement):

    merchant:<id>:wallet       shard 0: the shop's wallet account itself
    merchant:<id>:wallet:<k>   shard k, 1 <= k < N

A payment credits one shard chosen at random (no statement: the shop's row
is read by the payment already), so concurrent payments spread evenly. The
shards are opened when the count is raised (:func:`set_receiving_shards`), not
on a payment's way, which keeps a payment's round trips as they were. The
count only grows: the balance and the sweep read shards 1..N-1, and no shard
holding money may drop out of that range.

The shop's balance is the sum of its shards (:func:`balance`: one
statement). Money leaving the shop (a refund, a settlement's hold) leaves
from shard 0 only: :func:`consolidate` first sweeps the other shards into it,
in the same transaction, locking shard 0, the shards and the operation's other
accounts in one statement in ascending account id (the lock order's level 8,
docs/architecture.md), so a payment crediting a shard meanwhile waits or
goes first, and never deadlocks with it. Holds are placed on shard 0 only, so
the other shards' balances are all available.
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import func, select

from ledgerlib import Balance, Ledger, PeriodBalances, credit, debit
from ledgerlib import tables as lt

from ..core import codes
from ..core.errors import WalletError
from ..core.models import Merchant, User

__all__ = ["balance", "balance_of", "consolidate", "period_balances", "receiving_account",
           "set_receiving_shards", "shard_codes"]


def shard_codes(merchant: Merchant) -> list[str]:
    """The shop's receiving accounts, shard 0 (its wallet) first."""
    return [codes.merchant_receiving(merchant.id, k)
            for k in range(max(1, merchant.receiving_shards))]


def receiving_account(merchant: Merchant) -> str:
    """The account a payment to the shop credits: its wallet, or one of its
    shards at random."""
    shards = merchant.receiving_shards
    if shards <= 1:
        return merchant.wallet_code
    return codes.merchant_receiving(merchant.id, random.randrange(shards))


def balance(ledger: Ledger, merchant: Merchant) -> Balance:
    """The shop's balance: posted and held of all its shards, summed (one
    statement)."""
    if merchant.receiving_shards <= 1:
        return ledger.balance(merchant.wallet_code)
    accounts = lt.accounts
    row = ledger.session.connection().execute(
        select(func.coalesce(func.sum(accounts.c.posted_paise), 0),
               func.coalesce(func.sum(accounts.c.held_paise), 0))
        .where(accounts.c.code.in_(shard_codes(merchant)))).one()
    return Balance(merchant.wallet_code, codes.CURRENCY, int(row[0]), int(row[1]))


def balance_of(ledger: Ledger, owner: User | Merchant) -> Balance:
    """A user's balance, or a shop's with its receiving shards summed."""
    if isinstance(owner, Merchant):
        return balance(ledger, owner)
    return ledger.balance(owner.wallet_code)


def period_balances(ledger: Ledger, owner: User | Merchant, start: dt.datetime,
                    end: dt.datetime) -> PeriodBalances:
    """Opening and closing posted balances of a user's wallet, or of a shop's
    receiving shards summed (two index lookups per account)."""
    if not isinstance(owner, Merchant) or owner.receiving_shards <= 1:
        return ledger.balances_between(owner.wallet_code, start, end)
    each = [ledger.balances_between(code, start, end) for code in shard_codes(owner)]
    return replace(each[0], opening_paise=sum(p.opening_paise for p in each),
                   closing_paise=sum(p.closing_paise for p in each))


def consolidate(ledger: Ledger, merchant: Merchant, *, with_accounts: Iterable[str] = ()) -> int:
    """Sweep the shop's shards into its wallet account before money leaves
    it; the paise moved. ``with_accounts``: the other accounts the caller's
    posting will touch (a refund's customer, a settlement's bank shard), locked
    here with the shop's in ascending id, so that no lock is taken later out
    of order. A shop of one shard: nothing done, no statement."""
    if merchant.receiving_shards <= 1:
        return 0
    wallet, *shards = shard_codes(merchant)
    accounts = lt.accounts
    locked = ledger.session.connection().execute(
        select(accounts.c.code, accounts.c.posted_paise)
        .where(accounts.c.code.in_([wallet, *shards, *with_accounts]))
        .order_by(accounts.c.id)
        .with_for_update(key_share=True)).all()
    swept = {code: int(posted) for code, posted in locked if code in shards and posted > 0}
    total = sum(swept.values())
    if total:
        ledger.post([*(debit(code, paise) for code, paise in sorted(swept.items())),
                     credit(wallet, total)],
                    memo="Receiving shards swept", metadata={"kind": "shard_sweep"})
    return total


def set_receiving_shards(ledger: Ledger, merchant: Merchant, shards: int) -> None:
    """Give the shop ``shards`` receiving accounts, opening the new ones now
    (in this transaction: a payment never opens one). The count only grows."""
    if not 1 <= shards <= codes.MAX_RECEIVING_SHARDS:
        raise WalletError(f"A shop has 1 to {codes.MAX_RECEIVING_SHARDS} receiving shards.",
                          "shards")
    if shards < merchant.receiving_shards:
        raise WalletError(f"This shop has {merchant.receiving_shards} receiving shards; "
                          "their number only grows.", "shards")
    owner = codes.owner_ref("merchant", merchant.id)
    for k in range(1, shards):
        ledger.open_account(codes.merchant_receiving(merchant.id, k), "liability",
                            owner_ref=owner)
    merchant.receiving_shards = shards
    ledger.session.flush()
