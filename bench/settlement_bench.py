"""Deposits settled for ONE bank, from 1 and then from 4 connections (PostgreSQL).

    python bench/settlement_bench.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/DB
                                     [--seconds 10] [--connections 4] [--shards 8]

Every deposit of a bank moves money out of that bank's settlement account,
so with one such account per bank (``--shards 1``: the old layout) a bank's
deposits queue for one row lock however many connections settle them. With
the account split into shards (wallet.banking.settlement) they rarely meet. Each
connection is a process of its own (no GIL between them) settling deposits
that are already pending, each to a user of its own, through
``DepositService.settle`` in a transaction of its own, as the webhook app does.

The database gets a schema ``settlement_bench`` (dropped and made afresh).
1-connection and N-connection runs alternate ``--rounds`` times and their
medians are compared, so a machine whose load drifts skews both alike. The
last lines are machine-readable: ``settle_tps_1=``, ``settle_tps_4=`` (the
rate from ``--connections`` connections, whatever their number) and
``settle_ratio=``. The machine matters: on 2 cores shared with other work the
4 processes and their 4 PostgreSQL backends compete for CPU, so the ratio says
as much about the machine as about the rows; compare with ``--shards 1``.
So each run also prints how busy the machine's CPUs were (/proc/stat) and the
share of the settling backends' time spent waiting for a lock (pg_stat_activity
sampled every 20 ms): with one shard the 4 connections queue for the
settlement row; with shards they do not, and the rate is bounded by the cores.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

import ledgerlib  # noqa: E402
from tests.wallet_helpers import deposit_service  # noqa: E402
from wallet.banking import settlement  # noqa: E402
from wallet.banking.banks import BankConfig  # noqa: E402
from wallet.core import codes  # noqa: E402
from wallet.core.codes import CURRENCY, DepositAnswer, Kind, Status  # noqa: E402
from wallet.core.models import Transaction, User  # noqa: E402
from wallet.core.wallets import open_wallet  # noqa: E402
from wallet.db import WalletSession, get_engine  # noqa: E402
from wallet.migrations import upgrade_url  # noqa: E402
from wallet.operations.bank_calls import verify_all  # noqa: E402

SCHEMA = "settlement_bench"
AMOUNT_PAISE = 500_00
#: Users per connection: each deposit of a connection goes to the next one, so
#: no two connections ever share a wallet (only the bank's settlement account).
USERS_PER_CONNECTION = 50
#: A direct connection (``--pooler-mode``: no prepared statements, as behind
#: PgBouncer in transaction mode).
PREPARED_STATEMENTS = True


def bank(shards: int) -> BankConfig:
    return BankConfig(code="hdfc", name="HDFC Bank", netbanking_url="http://127.0.0.1:9/nb",
                      api_url="http://127.0.0.1:9/api", api_key="bench-" + "k" * 30,
                      webhook_secrets=("bench-" + "s" * 30,), allowed_networks=(),
                      settlement_shards=shards)


def fresh_schema(base_url: str) -> str:
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
    admin.dispose()
    url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    rendered = url.render_as_string(hide_password=False)
    upgrade_url(rendered)
    return rendered


def make_users(url: str, count: int) -> list[int]:
    engine = get_engine({"sqlalchemy.url": url})
    now = codes.utcnow()
    with WalletSession(engine) as session, session.begin():
        users = [User(phone=f"+9190000{i:05d}", name=f"Bench {i}", password_hash="x",
                      created_at=now) for i in range(count)]
        session.add_all(users)
        session.flush()
        ledger = ledgerlib.Ledger(session)
        for user in users:
            open_wallet(ledger, user)
        ids = [user.id for user in users]
    engine.dispose()
    return ids


def pending_deposits(url: str, users: list[int], count: int) -> list[str]:
    """``count`` pending deposits to ``users`` in turn (one insert); their tokens."""
    engine = get_engine({"sqlalchemy.url": url})
    now = codes.utcnow()
    tokens = [secrets.token_urlsafe(24) for _ in range(count)]
    rows = [dict(kind=Kind.DEPOSIT, status=Status.PENDING, amount_paise=AMOUNT_PAISE,
                 payee_user_id=users[i % len(users)], bank_code="hdfc", token=token,
                 note="bench", idempotency_key=f"deposit:bench:{token}", created_at=now,
                 updated_at=now) for i, token in enumerate(tokens)]
    with WalletSession(engine) as session, session.begin():
        session.execute(sa.insert(Transaction), rows)
    engine.dispose()
    return tokens


def settle_worker(url: str, shards: int, tokens: list[str], start_at: float, stop_at: float,
                  results: mp.Queue) -> None:  # type: ignore[type-arg]
    engine = get_engine({"sqlalchemy.url": url, "sqlalchemy.pool_size": "1",
                         "sqlalchemy.prepared_statements": str(PREPARED_STATEMENTS)})
    banks = {"hdfc": bank(shards)}
    with engine.connect():
        pass  # connect before the clock starts
    done = 0
    while time.time() < start_at:
        time.sleep(0.001)
    for token in tokens:
        if time.time() >= stop_at:
            break
        with WalletSession(engine, expire_on_commit=False) as session, session.begin():
            result = deposit_service(session, banks).settle(
                token, DepositAnswer.SUCCESS, bank_code="hdfc", amount_paise=AMOUNT_PAISE,
                currency=CURRENCY, source="bench")
        if result.verdict != "credited":
            raise SystemExit(f"deposit {token}: {result.verdict}")
        done += 1
    engine.dispose()
    results.put(done)


@dataclass
class Run:
    """One timed run: its rate, how busy the machine's CPUs were, and the share
    of the settling connections' time spent waiting for a row lock."""

    rate: float
    cpu_busy: float
    lock_waits: float


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot (Linux /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def sample_lock_waits(url: str, start_at: float, stop_at: float, out: list[float]) -> None:
    """Every 20 ms from start_at to stop_at: the share of active backends of
    this database (the settling ones) that wait for a lock."""
    engine = get_engine({"sqlalchemy.url": url, "sqlalchemy.pool_size": "1"})
    waiting = active = 0
    with engine.connect() as conn:
        while time.time() < start_at:
            time.sleep(0.005)
        while time.time() < stop_at:
            row = conn.exec_driver_sql(
                "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND pid <> pg_backend_pid()").one()
            conn.rollback()
            waiting, active = waiting + row[0], active + row[1]
            time.sleep(0.02)
    engine.dispose()
    out.append(waiting / active if active else 0.0)


def measure(url: str, shards: int, connections: int, seconds: float, users: list[int],
            per_connection: int) -> Run:
    """Deposits settled per second by ``connections`` processes during ``seconds``."""
    token_lists = [
        pending_deposits(url, users[n * USERS_PER_CONNECTION:(n + 1) * USERS_PER_CONNECTION],
                         per_connection)
        for n in range(connections)]
    ctx = mp.get_context("fork")
    results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    start_at = time.time() + 1.0 + 0.3 * connections  # all forked and connected by then
    stop_at = start_at + seconds
    workers = [ctx.Process(target=settle_worker,
                           args=(url, shards, tokens, start_at, stop_at, results))
               for tokens in token_lists]
    for w in workers:
        w.start()
    lock_waits: list[float] = []
    sampler = threading.Thread(target=sample_lock_waits,
                               args=(url, start_at + 0.5, stop_at - 0.5, lock_waits))
    sampler.start()
    while time.time() < start_at:
        time.sleep(0.001)
    busy_before, total_before = cpu_times()
    counts: list[int] = [results.get(timeout=seconds + 120) for _ in workers]
    busy, total = cpu_times()
    sampler.join()
    for w in workers:
        w.join()
        if w.exitcode != 0:
            raise SystemExit(f"a worker failed (exit {w.exitcode})")
    if max(counts) >= per_connection:
        raise SystemExit("a connection ran out of pending deposits: raise --per-connection")
    cpu_busy = (busy - busy_before) / max(total - total_before, 1)
    return Run(sum(counts) / seconds, cpu_busy, lock_waits[0] if lock_waits else 0.0)


def check(url: str) -> tuple[int, int, int]:
    """(position, shards used, credited total) after the runs; verify must be clean."""
    engine = get_engine({"sqlalchemy.url": url})
    with WalletSession(engine) as session:
        balances = settlement.shard_balances(session).get("hdfc", {})
        expected = settlement.expected_positions(session).get("hdfc", 0)
        result = verify_all(session)
        if not result.ok:
            raise SystemExit(f"books not clean: {result.ledger.problems[:3]} {result.records[:3]}")
    engine.dispose()
    return sum(balances.values()), len(balances), expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db-url", required=True, help="a PostgreSQL database (a schema "
                        f"{SCHEMA} is made in it)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3,
                        help="1-connection and N-connection runs alternate this many times; "
                        "the medians are compared (a busy machine drifts between runs)")
    parser.add_argument("--per-connection", type=int, default=6000,
                        help="pending deposits made for each connection (more than it settles)")
    parser.add_argument("--pooler-mode", action="store_true",
                        help="no server-side prepared statements (as behind PgBouncer)")
    args = parser.parse_args()
    global PREPARED_STATEMENTS
    PREPARED_STATEMENTS = not args.pooler_mode
    if not args.db_url.startswith("postgresql"):
        raise SystemExit("--db-url must be a PostgreSQL URL")
    url = fresh_schema(args.db_url)
    users = make_users(url, USERS_PER_CONNECTION * max(args.connections, 1))
    started = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()[0]
    ones: list[Run] = []
    manys: list[Run] = []
    for _ in range(args.rounds):
        ones.append(measure(url, args.shards, 1, args.seconds, users, args.per_connection))
        manys.append(measure(url, args.shards, args.connections, args.seconds, users,
                             args.per_connection))
    one, many = (statistics.median(r.rate for r in runs) for runs in (ones, manys))
    position, used, expected = check(url)
    if position != expected:
        raise SystemExit(f"the shards sum to {position}, our records say {expected}")
    ratio = many / one if one else 0.0
    cores = os.cpu_count() or 1
    print(f"settlement shards per bank: {args.shards} ({used} used); position "
          f"{position} paise = credited deposits; verify clean; prepared statements "
          f"{'off (--pooler-mode)' if args.pooler_mode else 'on'}")
    print(f"started {started:%H:%M:%S}Z, {cores} cores, load average "
          f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after")
    for label, runs, rate in (("1 connection: ", ones, one),
                              (f"{args.connections} connections:", manys, many)):
        print(f"{label} {rate:8.1f} deposits settled/s (median of "
              f"{', '.join(f'{r.rate:.1f}' for r in runs)}); CPUs "
              f"{statistics.median(r.cpu_busy for r in runs):.0%} busy; waiting for a "
              f"lock {statistics.median(r.lock_waits for r in runs):.0%} of the time")
    print(f"with every CPU busy the rate cannot grow more than {cores}x (the cores) "
          "over one connection's")
    print(f"settle_tps_1={one:.1f}")
    print(f"settle_tps_4={many:.1f}")
    print(f"settle_ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
