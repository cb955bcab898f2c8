"""PostgreSQL batches and as-of balances, for bench/ledger_bench.py.

* ``batch``: ``Ledger(session).post_batch(items)`` of ``BATCH`` transfers per
  committed transaction, on one connection, every item with its idempotency key.
* ``raw-batch``: its floor -- the same rows without any check: lock the accounts
  (``SELECT ... ORDER BY id FOR UPDATE``), reserve the entry ids, compute running
  balances and chained hashes, then ONE multi-row statement writes entries,
  postings and balances, each column sent as a comma-separated text (split
  and cast by the server: the quickest way found, which ``batch`` uses too).
  No idempotency lookup, no funds, currency or account checks, no Entry
  objects, no Session.
* ``as-of``: ``Ledger.balance_as_of`` on an account with ``--asof-postings``
  postings (written straight into the tables by ``generate_series``; their
  hashes are placeholders, so that ledger is not verified), median of calls at
  random instants.
"""
from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import chain

BATCH = 1000
Transfer = tuple[int, int, int]

_LOCK = sa.text(
    "SELECT id, posted_paise, chain_hash, last_posted_at FROM ledger_accounts "
    "WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"
)
# The sequence looked up once (per id, the lookup would cost 50 times the nextval).
_IDS = sa.text("WITH sequence AS MATERIALIZED (SELECT CAST(pg_get_serial_sequence("
               "'ledger_entries', 'id') AS regclass) AS name) "
               "SELECT nextval(sequence.name) FROM sequence, generate_series(1, :n)")
_WRITE = sa.text("""
WITH new_entries AS (
    INSERT INTO ledger_entries (id, idempotency_key, fingerprint, memo, metadata, created_at)
    SELECT e.id, e.key, :fp, '', '{}', :now
    FROM unnest(CAST(string_to_array(:e_id, ',') AS bigint[]),
                string_to_array(:e_key, ',')) AS e(id, key)
), new_postings AS (
    INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, created_at,
                                 balance_after, hash)
    SELECT p.entry_id, p.account_id, p.amount, 'INR', :now, p.balance_after, p.hash
    FROM unnest(CAST(string_to_array(:p_entry, ',') AS bigint[]),
                CAST(string_to_array(:p_account, ',') AS bigint[]),
                CAST(string_to_array(:p_amount, ',') AS bigint[]),
                CAST(string_to_array(:p_balance, ',') AS bigint[]),
                string_to_array(:p_hash, ','))
         WITH ORDINALITY AS p(entry_id, account_id, amount, balance_after, hash, ord)
    ORDER BY p.ord
)
UPDATE ledger_accounts AS acc SET posted_paise = a.posted, chain_hash = a.hash,
       last_posted_at = :now
FROM unnest(CAST(string_to_array(:a_id, ',') AS bigint[]),
            CAST(string_to_array(:a_posted, ',') AS bigint[]),
            string_to_array(:a_hash, ',')) AS a(id, posted, hash)
WHERE acc.id = a.id
""").bindparams(sa.bindparam("now", type_=ledgerlib.UTCDateTime()))


def ledgerlib_batches(engine: Engine, run: str, wallet: Callable[[int], str]
                      ) -> Callable[[int, list[Transfer]], None]:
    def do(n: int, batch: list[Transfer]) -> None:
        items = [ledgerlib.transfer_item(wallet(s), wallet(d), amount,
                                         idempotency_key=f"batch:{run}:{n}:{i}")
                 for i, (s, d, amount) in enumerate(batch)]
        with Session(engine) as session, session.begin():
            results = ledgerlib.Ledger(session).post_batch(items)
        if not all(r.status == "posted" for r in results):
            raise RuntimeError("a bench batch item was refused")
    return do


def raw_batches(conn: Connection, run: str, ids: list[int]
                ) -> Callable[[int, list[Transfer]], None]:
    def do(n: int, batch: list[Transfer]) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        with conn.begin():
            touched = sorted({ids[s] for s, _, _ in batch} | {ids[d] for _, d, _ in batch})
            heads = {r.id: [r.posted_paise, r.chain_hash]
                     for r in conn.execute(_LOCK, {"ids": touched})}
            entry_ids = list(conn.execute(_IDS, {"n": len(batch)}).scalars())
            p: dict[str, list[Any]] = {k: [] for k in ("entry", "account", "amount",
                                                       "balance", "hash")}
            for entry_id, (s, d, amount) in zip(entry_ids, batch, strict=True):
                # Wallets are credit-normal: a signed amount a moves the balance by -a.
                for account_id, signed in ((ids[s], amount), (ids[d], -amount)):
                    head = heads[account_id]
                    head[0] -= signed
                    head[1] = chain.posting_hash(head[1], entry_id, account_id, signed, "INR",
                                                 head[0], now)
                    row = (entry_id, account_id, signed, head[0], head[1])
                    for key, value in zip(p, row, strict=True):
                        p[key].append(value)
            conn.execute(_WRITE, {
                "fp": "0" * 64, "now": now, "e_id": _joined(entry_ids),
                "e_key": ",".join(f"raw:{run}:{n}:{i}" for i in range(len(batch))),
                "p_entry": _joined(p["entry"]), "p_account": _joined(p["account"]),
                "p_amount": _joined(p["amount"]), "p_balance": _joined(p["balance"]),
                "p_hash": ",".join(p["hash"]), "a_id": _joined(heads),
                "a_posted": _joined(h[0] for h in heads.values()),
                "a_hash": ",".join(h[1] for h in heads.values()),
            })
    return do


def _joined(values: Any) -> str:
    return ",".join(map(str, values))


def time_batches(do: Callable[[int, list[Transfer]], None], plan: list[Transfer]) -> float:
    """Transfers per second of ``plan`` cut into batches of ``BATCH``."""
    batches = [plan[i:i + BATCH] for i in range(0, len(plan), BATCH)]
    start = time.perf_counter()
    for n, batch in enumerate(batches):
        do(n, batch)
    return len(plan) / (time.perf_counter() - start)


def asof_median_ms(engine: Engine, postings: int, calls: int = 200) -> float:
    """Median ms of ``balance_as_of`` on an account with ``postings`` postings."""
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with Session(engine) as session, session.begin():
        ledger = ledgerlib.Ledger(session, clock=lambda: t0)
        ledger.open_account("asof:bank", "asset", allow_negative=True)
        account_id = ledger.open_account("asof:wallet", "liability").id
        bank_id = ledger.get_account("asof:bank").id
        conn = session.connection()
        # Straight into the tables, one entry a second; guards off for the load.
        conn.exec_driver_sql("ALTER TABLE ledger_postings DISABLE TRIGGER ALL")
        conn.exec_driver_sql("ALTER TABLE ledger_entries DISABLE TRIGGER ALL")
        conn.execute(sa.text(
            "INSERT INTO ledger_entries (id, fingerprint, memo, metadata, created_at) "
            "SELECT 1000000000 + g, 'bench', '', '{}', :t0 + g * interval '1 second' "
            "FROM generate_series(1, :n) AS g"), {"t0": t0, "n": postings})
        conn.execute(sa.text(
            "INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, "
            "created_at, balance_after, hash) "
            "SELECT 1000000000 + g, acc.id, acc.sign * (g % 97 + 1), 'INR', "
            "  :t0 + g * interval '1 second', -acc.sign * CAST(g AS bigint), 'bench' "
            "FROM generate_series(1, :n) AS g, "
            "  (VALUES (CAST(:wallet AS bigint), 1), (CAST(:bank AS bigint), -1)) "
            "  AS acc(id, sign)"), {"t0": t0, "n": postings, "wallet": account_id,
                                    "bank": bank_id})
        conn.exec_driver_sql("ALTER TABLE ledger_postings ENABLE TRIGGER ALL")
        conn.exec_driver_sql("ALTER TABLE ledger_entries ENABLE TRIGGER ALL")
        conn.exec_driver_sql("ANALYZE ledger_postings")
    rng = random.Random(7)
    timings = []
    with Session(engine) as session, session.begin():
        ledger = ledgerlib.Ledger(session)
        for _ in range(calls):
            at = t0 + dt.timedelta(seconds=rng.uniform(0, postings))
            start = time.perf_counter()
            ledger.balance_as_of("asof:wallet", at)
            timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)
