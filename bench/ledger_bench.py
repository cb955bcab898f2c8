"""Transfers per second of ledgerlib against raw-SQL floors and pgledger (SQLite: ledgerlib).

Run from the repository root::

    python bench/ledger_bench.py --db both --transfers 2000
    python bench/ledger_bench.py --db postgres --pgledger /path/to/pgledger-checkout

Every transfer is its own committed transaction between two of 100 wallets.
On PostgreSQL every implementation runs on an engine of
``ledgerlib.create_engine(..., prepared_statements=True)``, as a host that
reaches the database directly; ``--pooler-mode`` measures them without
(as behind PgBouncer in transaction mode).
Each run starts from a fresh ledger; every (database, implementation, connections)
cell is run ``--repeat`` times (the implementations alternating) and its median kept:

* ``ledgerlib``: ``Ledger(session).transfer(...)`` in ``Session(engine)`` + ``begin()``
  (BEGIN, the fast path's one statement, COMMIT: three round trips).
* ``ledgerlib-ac``: ``AutocommitLedger(engine).transfer(...)``: the same
  statement alone in autocommit, one round trip.
* ``raw``: the bare minimum for the same rows on a plain connection -- draw the
  entry's id, update the two balance rows (ascending id, which takes the row
  locks), insert the entry with both postings, commit: four statements, as
  ledgerlib's generic path.
* ``raw1`` (PostgreSQL only): the same rows in ONE statement (lock both rows in
  id order, insert entry and postings, update balances) in BEGIN ... COMMIT, as
  ledgerlib's PostgreSQL fast path -- but without any of its checks, and with
  no Session. ``raw1-ac``: that statement alone in autocommit, the floor of
  ``ledgerlib-ac``.
* ``pgledger`` (with ``--pgledger PATH``, a checkout of github: pgr0ss/pgledger):
  its ``pgledger_create_transfer`` in autocommit on a bare psycopg connection,
  in a schema of ``--pgledger-url``'s database; see ``bench/pgledger_bench.py``.
  ``--impls`` runs a subset.

The ledger's DB triggers stay installed for all of them. Since ledgerlib's
PostgreSQL fast path needs one statement per transfer, it can beat ``raw``
(ratio above 1); ``raw1`` and ``raw1-ac`` are the floors for its shape: the
gap to them is the price of the checks (accounts, currencies, funds on locked
rows, idempotency key, the returned Entry) and of the client library.

On PostgreSQL it then times batches of 1,000 transfers (``batch``) against their
own floor (``raw-batch``), and ``balance_as_of`` on an account with a million
postings: see ``bench/ledger_bench_batches.py``.

The last lines are machine-readable: ``postgres_ac_ratio_vs_raw1ac`` and
``postgres_ac_vs_pgledger`` (and ``_4conns``: ``ledgerlib-ac`` over its floor and
over pgledger), ``postgres_ratio_vs_raw1=<float>`` (1 connection),
``postgres_ratio_vs_raw1_4conns=<float>``, ``postgres_asof_ms=<float>``
(median), ``postgres_batch_tps=<float>``, ``postgres_batch_ratio_vs_raw=<float>``
and, last as before, ``postgres_ratio_vs_raw=<float>``: ledgerlib's transfers/s
divided by each floor's (``nan`` for what did not run).
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import ledger_bench_batches as batches  # noqa: E402
import pgledger_bench as pgledger  # noqa: E402

import ledgerlib  # noqa: E402
from ledgerlib import UTCDateTime, chain  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "ledger_bench"
N_ACCOUNTS = 100
FUNDING_PAISE = 10**10  # Rs 10 crore per wallet: transfers never fail for funds
SEED = 20240601
CONCURRENCY = (1, 4)
PG_IMPLS = ("ledgerlib", "ledgerlib-ac", "raw", "raw1", "raw1-ac", "pgledger")
SQLITE_IMPLS = ("ledgerlib", "ledgerlib-ac")
#: A direct connection: psycopg prepares statements (``--pooler-mode``: not,
#: as behind PgBouncer in transaction mode). The same for every implementation.
PREPARED_STATEMENTS = True
#: Server options of every benchmark connection (``--no-fsync-wait`` adds
#: ``synchronous_commit=off``: commits stop waiting for the disk, for every
#: implementation alike, so that a busy disk does not drown the CPU costs).
SESSION_OPTIONS = ""

Transfer = tuple[int, int, int]  # (source index, destination index, amount in paise)

_NEXT_ENTRY_ID = sa.text("SELECT nextval(pg_get_serial_sequence('ledger_entries', 'id'))")
# Wallets are credit-normal: a posting of signed amount a moves the balance by -a.
# The hash is ledgerlib's (ledgerlib.chain): the rows written are the same rows.
_AT = "greatest(CAST(:now AS timestamptz), last_posted_at)"
_UPDATE_BALANCE = sa.text(
    "UPDATE ledger_accounts SET posted_paise = posted_paise - :a, "
    f"last_posted_at = {_AT}, chain_hash = "
    + chain.sql_hash("chain_hash", ":e", "id", ":a", "'INR'", "posted_paise - :a",
                     f"CAST(round(extract(epoch FROM {_AT}) * 1000000) AS bigint)")
    + " WHERE id = :id RETURNING posted_paise, chain_hash, last_posted_at"
).bindparams(sa.bindparam("now", type_=UTCDateTime()))
# The entry and its postings in one statement, as the ledger's guard wants them.
_INSERT_ENTRY_AND_POSTINGS = sa.text(
    "WITH entry AS (INSERT INTO ledger_entries (id, idempotency_key, fingerprint, memo, "
    "  metadata, created_at) VALUES (:e, :key, :fp, '', '{}', :now)) "
    "INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, created_at, "
    "balance_after, hash) VALUES (:e, :src, :amt, 'INR', :src_at, :src_bal, :src_hash), "
    "(:e, :dst, -:amt, 'INR', :dst_at, :dst_bal, :dst_hash)"
).bindparams(sa.bindparam("src_at", type_=UTCDateTime()),
             sa.bindparam("dst_at", type_=UTCDateTime()),
             sa.bindparam("now", type_=UTCDateTime()))
_TRANSFER_ONE_STATEMENT = sa.text(
    "WITH locked AS (SELECT id, posted_paise, chain_hash, "
    f"  {_AT} AS at FROM ledger_accounts WHERE id IN (:src, :dst) ORDER BY id FOR UPDATE), "
    "entry AS (INSERT INTO ledger_entries (idempotency_key, fingerprint, memo, metadata, "
    "  created_at) VALUES (:key, :fp, '', '{}', :now) RETURNING id), "
    "legs AS (SELECT entry.id AS entry_id, a.id AS account_id, leg.n, leg.amount, a.at, "
    "  a.posted_paise - leg.amount AS balance_after, "
    + chain.sql_hash("a.chain_hash", "entry.id", "a.id", "leg.amount", "'INR'",
                     "a.posted_paise - leg.amount",
                     "CAST(round(extract(epoch FROM a.at) * 1000000) AS bigint)")
    + " AS hash FROM entry, (VALUES (1, CAST(:src AS bigint), CAST(:amt AS bigint)), "
    "                      (2, CAST(:dst AS bigint), -CAST(:amt AS bigint))) "
    "  AS leg(n, account_id, amount) JOIN locked AS a ON a.id = leg.account_id), "
    "postings AS (INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, "
    "  created_at, balance_after, hash) SELECT entry_id, account_id, amount, 'INR', at, "
    "  balance_after, hash FROM legs ORDER BY n), "
    "balances AS (UPDATE ledger_accounts AS acc SET posted_paise = legs.balance_after, "
    "  chain_hash = legs.hash, last_posted_at = legs.at FROM legs "
    "  WHERE acc.id = legs.account_id) "
    "SELECT id FROM entry"
).bindparams(sa.bindparam("now", type_=UTCDateTime()))
_FINGERPRINT = "0" * 64


@dataclass
class Cell:
    """One (database, implementation, connections) cell, over ``--repeat`` runs."""

    db: str
    impl: str
    conns: int
    rates: list[float] = field(default_factory=list)  # transfers/s of each run
    retries: int = 0
    verify_ok: bool = True

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)


def wallet(i: int) -> str:
    return f"bench:{i}:wallet"


@contextmanager
def fresh_engine(db: str, pg_url: str, conns: int) -> Iterator[Engine]:
    """An engine on an empty ledger (tables and triggers, no rows) pooling `conns` connections."""
    pool = {"pool_size": conns, "max_overflow": 0}
    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ledger_bench_") as tmp:
            engine = ledgerlib.create_engine(f"sqlite:///{tmp}/ledger.db", **pool)
            ledgerlib.create_all(engine)
            yield engine
            engine.dispose()
        return
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {PG_SCHEMA}")
    admin.dispose()
    engine = ledgerlib.create_engine(
        pg_url, connect_args={"options": f"-csearch_path={PG_SCHEMA}{SESSION_OPTIONS}"},
        prepared_statements=PREPARED_STATEMENTS, **pool
    )
    ledgerlib.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def set_up_accounts(engine: Engine, conns: int) -> list[int]:
    """Open the bank and 100 funded wallets; return the wallets' account ids."""
    with Session(engine) as s, s.begin():
        ledger = ledgerlib.Ledger(s)
        ledger.open_account("bench:bank", "asset", allow_negative=True)
        ids = [ledger.open_account(wallet(i), "liability").id for i in range(N_ACCOUNTS)]
        for i in range(N_ACCOUNTS):
            ledger.transfer("bench:bank", wallet(i), FUNDING_PAISE, idempotency_key=f"fund:{i}")
    # Open every pooled connection now so that connecting is not timed.
    opened = [engine.connect() for _ in range(conns)]
    for conn in opened:
        conn.close()
    return ids


def plan_transfers(n: int, seed: int = SEED) -> list[Transfer]:
    rng = random.Random(seed)
    plan = []
    for _ in range(n):
        src, dst = rng.sample(range(N_ACCOUNTS), 2)
        plan.append((src, dst, rng.randint(1, 1000)))
    return plan


def ledgerlib_worker(engine: Engine, run: str) -> Callable[[int, Transfer], None]:
    def do(i: int, t: Transfer) -> None:
        src, dst, amount = t
        with Session(engine) as s, s.begin():
            ledgerlib.Ledger(s).transfer(
                wallet(src), wallet(dst), amount, idempotency_key=f"bench:{run}:{i}"
            )
    return do


def autocommit_worker(engine: Engine, run: str) -> Callable[[int, Transfer], None]:
    ledger = ledgerlib.AutocommitLedger(engine)

    def do(i: int, t: Transfer) -> None:
        src, dst, amount = t
        ledger.transfer(wallet(src), wallet(dst), amount, idempotency_key=f"bench:{run}:{i}")
    return do


def raw_worker(conn: Connection, run: str, ids: list[int]) -> Callable[[int, Transfer], None]:
    def do(i: int, t: Transfer) -> None:
        src, dst, amount = ids[t[0]], ids[t[1]], t[2]
        now = dt.datetime.now(dt.timezone.utc)
        with conn.begin():
            entry_id = conn.execute(_NEXT_ENTRY_ID).scalar_one()
            # Debit the source (+), credit the destination (-), as ledgerlib does;
            # each UPDATE (ascending id: the row locks) moves balance and chain head.
            after = {}
            for account_id, signed in sorted([(src, amount), (dst, -amount)]):
                after[account_id] = conn.execute(
                    _UPDATE_BALANCE, {"a": signed, "e": entry_id, "id": account_id, "now": now}
                ).one()
            conn.execute(_INSERT_ENTRY_AND_POSTINGS, {
                "e": entry_id, "key": f"bench:{run}:{i}", "fp": _FINGERPRINT, "now": now,
                "src": src, "dst": dst, "amt": amount,
                "src_bal": after[src][0], "src_hash": after[src][1], "src_at": after[src][2],
                "dst_bal": after[dst][0], "dst_hash": after[dst][1], "dst_at": after[dst][2],
            })
    return do


def raw1_worker(conn: Connection, run: str, ids: list[int], *, autocommit: bool = False
                ) -> Callable[[int, Transfer], None]:
    """``raw1``: the statement in BEGIN ... COMMIT; ``raw1-ac``: alone, in autocommit."""
    if autocommit:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")

    def do(i: int, t: Transfer) -> None:
        src, dst, amount = ids[t[0]], ids[t[1]], t[2]
        now = dt.datetime.now(dt.timezone.utc)
        with nullcontext() if autocommit else conn.begin():
            conn.execute(_TRANSFER_ONE_STATEMENT, {
                "key": f"bench:{run}:{i}", "fp": _FINGERPRINT, "now": now,
                "src": src, "dst": dst, "amt": amount,
            }).scalar_one()
    return do


def with_retries(do: Callable[[int, Transfer], None], i: int, t: Transfer) -> int:
    """Run one transfer's transaction under ``ledgerlib.retrying``; return the retry count."""
    attempts = 0

    def attempt() -> None:
        nonlocal attempts
        attempts += 1
        do(i, t)

    ledgerlib.retrying(attempt, attempts=10)
    return attempts - 1


OpenWorker = Callable[[ExitStack], Callable[[int, Transfer], None]]


def ledger_worker(impl: str, engine: Engine, run: str, ids: list[int]) -> OpenWorker:
    """How each thread of ``impl`` gets its transfer function (raw floors hold one
    connection; ledgerlib checks one out per transfer)."""
    def open_worker(stack: ExitStack) -> Callable[[int, Transfer], None]:
        if impl == "ledgerlib":
            return ledgerlib_worker(engine, run)
        if impl == "ledgerlib-ac":
            return autocommit_worker(engine, run)
        conn = stack.enter_context(engine.connect())
        if impl == "raw":
            return raw_worker(conn, run, ids)
        return raw1_worker(conn, run, ids, autocommit=impl == "raw1-ac")
    return open_worker


def time_threads(conns: int, open_worker: OpenWorker, plan: list[Transfer]
                 ) -> tuple[float, int]:
    """Run ``plan`` on ``conns`` threads (transfer i on thread i % conns); (seconds, retries)."""
    retries = [0] * conns
    errors: list[BaseException] = []
    barrier = threading.Barrier(conns + 1)

    def thread_main(k: int) -> None:
        try:
            with ExitStack() as stack:
                do = open_worker(stack)
                barrier.wait()
                for i in range(k, len(plan), conns):
                    retries[k] += with_retries(do, i, plan[i])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=thread_main, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    return seconds, sum(retries)


def run_once(cell: Cell, plan: list[Transfer], args: argparse.Namespace) -> None:
    """Time ``plan`` on a fresh ledger, verify it, and add the outcome to ``cell``."""
    db, impl, conns, run = cell.db, cell.impl, cell.conns, f"{cell.db}-{cell.impl}-{cell.conns}"
    if impl == "pgledger":
        url = args.pgledger_url or args.pg_url
        with pgledger.fresh_ledger(args.pgledger, url, N_ACCOUNTS, FUNDING_PAISE) as wallets:
            seconds, retries = time_threads(conns, lambda stack: pgledger.worker(
                stack.enter_context(pgledger.connect(url, prepared=PREPARED_STATEMENTS,
                                                    options=SESSION_OPTIONS)),
                wallets), plan)
            ok = pgledger.verify(url, len(plan))
    else:
        with fresh_engine(db, args.pg_url, conns) as engine:
            ids = set_up_accounts(engine, conns)
            seconds, retries = time_threads(conns, ledger_worker(impl, engine, run, ids), plan)
            with Session(engine) as s:
                report = ledgerlib.verify(s)
            if not report.ok:
                print(report.summary(), file=sys.stderr)
            ok = report.ok
    cell.rates.append(len(plan) / seconds)
    cell.retries += retries
    cell.verify_ok = cell.verify_ok and ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per cell, ledgerlib and the raw floors alternating; "
                             "median reported")
    parser.add_argument(
        "--pg-url", default=os.environ.get("WALLET_BENCH_DATABASE_URL") or DEFAULT_PG_URL
    )
    parser.add_argument("--batch-transfers", type=int, default=20_000,
                        help="transfers per batch run (PostgreSQL), in batches of 1,000")
    parser.add_argument("--asof-postings", type=int, default=1_000_000,
                        help="postings on the account of the as-of benchmark (PostgreSQL)")
    parser.add_argument("--pooler-mode", action="store_true",
                        help="no server-side prepared statements, as an engine behind "
                             "PgBouncer in transaction mode (ledgerlib.configure_engine)")
    parser.add_argument("--pgledger", type=Path, metavar="PATH",
                        help="a checkout of pgledger (github: pgr0ss/pgledger): also time "
                             "it, in the same run (see bench/pgledger_bench.py)")
    parser.add_argument("--pgledger-url", help="database to load pgledger into, in a "
                        "fresh schema per run (default: --pg-url's)")
    parser.add_argument("--impls", type=lambda v: v.split(","),
                        default=list(PG_IMPLS) + ["batch"],
                        help="comma-separated subset of: " + ", ".join(PG_IMPLS)
                             + ", batch (the batches and as-of part)")
    parser.add_argument("--no-fsync-wait", action="store_true",
                        help="synchronous_commit=off on every benchmark connection (all "
                             "implementations): measure CPU and round trips, not the disk")
    args = parser.parse_args(argv)
    global SESSION_OPTIONS
    SESSION_OPTIONS = " -csynchronous_commit=off" if args.no_fsync_wait else ""
    if args.pgledger:
        pgledger.check_checkout(args.pgledger)
    global PREPARED_STATEMENTS
    PREPARED_STATEMENTS = not args.pooler_mode
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    plan = plan_transfers(args.transfers)

    print(f"{args.transfers} transfers per run, median of {args.repeat} run(s); PostgreSQL "
          f"{'without' if args.pooler_mode else 'with'} prepared statements"
          f"{', synchronous_commit=off' if args.no_fsync_wait else ''}\n")
    print(f"{'db':<9}{'impl':<14}{'conns':>6}{'transfers/s':>13}{'min..max':>16}"
          f"{'retries':>9}  verify")
    cells: dict[tuple[str, str, int], Cell] = {}
    for db in dbs:
        for conns in CONCURRENCY:
            # The floors are PostgreSQL SQL (the chain's hash is computed by the server).
            impls = [impl for impl in (PG_IMPLS if db == "postgres" else SQLITE_IMPLS)
                     if impl in args.impls and (impl != "pgledger" or args.pgledger)]
            group = [Cell(db, impl, conns) for impl in impls]
            for _ in range(args.repeat):
                for cell in group:
                    run_once(cell, plan, args)
            for c in group:
                cells[(db, c.impl, conns)] = c
                spread = f"{min(c.rates):.0f}..{max(c.rates):.0f}"
                print(f"{db:<9}{c.impl:<14}{conns:>6}{c.rate:>13.1f}{spread:>16}{c.retries:>9}"
                      f"  {'OK' if c.verify_ok else 'BROKEN'}", flush=True)

    def ratio(db: str, conns: int, floor: str = "raw", impl: str = "ledgerlib") -> float:
        """impl's transfers/s over floor's, measured in the same run (nan if not run)."""
        if (db, impl, conns) not in cells or (db, floor, conns) not in cells:
            return math.nan
        return cells[(db, impl, conns)].rate / cells[(db, floor, conns)].rate

    print("\nratios of transfers/s, same run:")
    for conns in CONCURRENCY if "postgres" in dbs else ():
        print(f"  postgres  {conns} conn{'s' if conns > 1 else ' '}  ledgerlib vs raw "
              f"{ratio('postgres', conns):.3f}, vs raw1 {ratio('postgres', conns, 'raw1'):.3f},"
              f" vs pgledger {ratio('postgres', conns, 'pgledger'):.3f};  ledgerlib-ac vs "
              f"raw1-ac {ratio('postgres', conns, 'raw1-ac', 'ledgerlib-ac'):.3f}, vs raw1 "
              f"{ratio('postgres', conns, 'raw1', 'ledgerlib-ac'):.3f}, vs pgledger "
              f"{ratio('postgres', conns, 'pgledger', 'ledgerlib-ac'):.3f}")
    pg = "postgres" in dbs
    batch_tps = batch_raw_tps = asof_ms = math.nan
    if pg and "batch" in args.impls:
        batch = Cell("postgres", "batch", 1)
        raw_batch = Cell("postgres", "raw-batch", 1)
        batch_plan = plan_transfers(args.batch_transfers)
        print(f"\nbatches of {batches.BATCH} transfers, {args.batch_transfers} per run, "
              "1 connection:")
        for _ in range(args.repeat):
            for cell in (batch, raw_batch):
                run_batches(cell, batch_plan, args.pg_url)
        for c in (batch, raw_batch):
            cells[("postgres", c.impl, 1)] = c
            spread = f"{min(c.rates):.0f}..{max(c.rates):.0f}"
            print(f"{'postgres':<9}{c.impl:<14}{1:>6}{c.rate:>13.1f}{spread:>16}{0:>9}"
                  f"  {'OK' if c.verify_ok else 'BROKEN'}", flush=True)
        batch_tps, batch_raw_tps = batch.rate, raw_batch.rate
        with fresh_engine("postgres", args.pg_url, 1) as engine:
            asof_ms = batches.asof_median_ms(engine, args.asof_postings)
        print(f"balance_as_of on an account with {args.asof_postings} postings: "
              f"{asof_ms:.3f} ms (median)")
    all_ok = all(c.verify_ok for c in cells.values())
    if not all_ok:
        print("WARNING: ledger verification failed (details on stderr)")
    for conns in CONCURRENCY:
        tail = "" if conns == 1 else f"_{conns}conns"
        print(f"postgres_ac_ratio_vs_raw1ac{tail}="
              f"{ratio('postgres', conns, 'raw1-ac', 'ledgerlib-ac'):.3f}")
        print(f"postgres_ac_vs_pgledger{tail}="
              f"{ratio('postgres', conns, 'pgledger', 'ledgerlib-ac'):.3f}")
    print(f"postgres_ratio_vs_raw1={ratio('postgres', 1, 'raw1'):.3f}")
    print(f"postgres_ratio_vs_raw1_4conns={ratio('postgres', 4, 'raw1'):.3f}")
    print(f"postgres_asof_ms={asof_ms:.3f}")
    print(f"postgres_batch_tps={batch_tps:.1f}")
    print(f"postgres_batch_ratio_vs_raw={batch_tps / batch_raw_tps:.3f}")
    print(f"postgres_ratio_vs_raw={ratio('postgres', 1):.3f}")
    return 0 if all_ok else 1


def run_batches(cell: Cell, plan: list[Transfer], pg_url: str) -> None:
    """Time ``plan`` in batches on a fresh ledger, verify it, add the outcome to ``cell``."""
    run = f"{cell.impl}-{len(cell.rates)}"
    with fresh_engine("postgres", pg_url, 1) as engine:
        ids = set_up_accounts(engine, 1)
        if cell.impl == "batch":
            rate = batches.time_batches(batches.ledgerlib_batches(engine, run, wallet), plan)
        else:
            with engine.connect() as conn:
                rate = batches.time_batches(batches.raw_batches(conn, run, ids), plan)
        with Session(engine) as s:
            report = ledgerlib.verify(s)
        if not report.ok:
            print(report.summary(), file=sys.stderr)
        cell.rates.append(rate)
        cell.verify_ok = cell.verify_ok and report.ok


if __name__ == "__main__":
    sys.exit(main())
