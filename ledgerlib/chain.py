"""The per-account hash chain that makes edited postings detectable.

Every posting stores ``hash = sha256(previous hash of the same account | entry id |
account id | signed amount | currency | balance after | time in µs since the epoch)``
as lowercase hex; an account's first posting chains to ``''``. The account row
keeps the chain's head (``chain_hash``) and the latest posting's time
(``last_posted_at``).

Why per account, not one chain per ledger: a posting changes rows that are
already locked (its accounts, in ascending id order), so extending each
account's chain costs nothing extra and two transfers between different
accounts never wait for each other. One global chain would make every posting
wait on one "last hash" row: a single point of contention.

What :func:`ledgerlib.verify` can then tell (see ``docs/ledgerlib.md``): that
no posting's amount, account, currency, entry, time or running balance was
changed and that no posting was removed or inserted in the middle of an
account's chain -- *unless* whoever changed it also recomputed every later
hash of that account and its head. The hash has no secret, so the chain alone
does not stop someone with write access to the database; compare the heads
(:meth:`ledgerlib.Ledger.chain_heads`) with a copy kept elsewhere (a log, a
daily published digest) to catch that too. It does not cover an entry's memo,
metadata or idempotency key, nor holds.

The same text is hashed by PostgreSQL in :mod:`ledgerlib.fastpath`
(``SQL_HASH``); both must stay byte-for-byte equal.
"""
from __future__ import annotations

import datetime as dt
import hashlib

GENESIS = ""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICROSECOND = dt.timedelta(microseconds=1)


def micros(moment: dt.datetime) -> int:
    """Exact microseconds since the Unix epoch of an aware datetime."""
    return (moment - _EPOCH) // _MICROSECOND


def posting_hash(
    previous: str,
    entry_id: int,
    account_id: int,
    amount_paise: int,
    currency: str,
    balance_after: int,
    created_at: dt.datetime,
) -> str:
    return posting_hash_at(previous, entry_id, account_id, amount_paise, currency,
                           balance_after, micros(created_at))


def posting_hash_at(
    previous: str,
    entry_id: int,
    account_id: int,
    amount_paise: int,
    currency: str,
    balance_after: int,
    created_at_micros: int,
) -> str:
    """:func:`posting_hash` of a time already in microseconds (a batch's
    postings mostly share one time: converted once)."""
    text = (
        f"{previous}|{entry_id}|{account_id}|{amount_paise}|{currency}|"
        f"{balance_after}|{created_at_micros}"
    )
    return hashlib.sha256(text.encode()).hexdigest()


def sql_hash(previous: str, entry_id: str, account_id: str, amount: str, currency: str,
             balance_after: str, micros_param: str) -> str:
    """The PostgreSQL expression computing :func:`ledgerlib.chain.posting_hash`
    from SQL expressions."""
    parts = " || '|' || ".join(
        f"CAST({part} AS text)"
        for part in (previous, entry_id, account_id, amount, currency, balance_after,
                     micros_param)
    )
    return f"encode(sha256(convert_to({parts}, 'UTF8')), 'hex')"
