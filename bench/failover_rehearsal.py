"""The failover rehearsal: the wallet on highly available PostgreSQL and Redis
across network namespaces, under load, with seeded faults (root needed):

    python bench/failover_rehearsal.py [--seed 11] [--ops 2800]
    python bench/failover_rehearsal.py --mutation   # asynchronous: must FAIL

Hosts (bench/netns_rehearsal.namespaces; the driver is 10.78.0.1):

    db1-db3      10.78.0.11-13  etcd, Patroni + PostgreSQL (bench/cluster.py)
    redis1-3     10.78.0.31-33  Redis + Sentinel (bench/redis_ha.py)
    user1, user2 10.78.0.21-22  user app :8000      } each with HAProxy on its
    api          10.78.0.25     API app :8000       } own loopback :5000 to the
    hook         10.78.0.30     webhook app :8000   } primary (Patroni's REST
    worker       10.78.0.40     Huey workers        } API decides which)
    bank         10.78.0.50     the fake bank :8000

The chaos workload (bench/chaos.py: deposits through the bank's webhooks,
transfers, shop payments, payouts; the bank misbehaving) runs while, one at a
time, the primary's PostgreSQL is killed -9, the primary is cut off the
network, an etcd member is killed, the Redis master is killed, a switchover is
made and a worker is killed. The driver keeps every answer and every
acknowledged operation (bench/acks.py). Checked after the run: every
acknowledged operation exists exactly once; money is conserved across the
wallet and the bank's books to the paisa; ``verify`` is clean; no payout paid
twice; no 5xx but the documented 503 with Retry-After while the database was
failing over; the cluster whole again, every old primary a standby. Prints
each fault's recovery time (first refused request to first accepted one); the
last line is ``failover: ok ...`` or ``failover: FAILED ...``.

``--mutation`` runs the cluster with asynchronous replication and an
aggressive failover (any lag may be promoted), and the fault that loses
acknowledged commits in that set-up (replication stalled, then the primary
killed): the checker must then say FAILED.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import sessionmaker  # noqa: E402

import ledgerlib  # noqa: E402
from bench.acks import AckLog, check_acks  # noqa: E402
from bench.chaos import (  # noqa: E402
    Stage,
    WorkerProcess,
    bank_settings,
    base_settings,
    exercise,
    print_stats,
    verdict,
)
from bench.cluster import DbHost, HAProxy, PatroniCluster, Settings, wait_for  # noqa: E402
from bench.failover_faults import FailoverFaults  # noqa: E402
from bench.infra import AppProcess, write_ini  # noqa: E402
from bench.netns_rehearsal import namespaces, set_knobs  # noqa: E402
from bench.redis_ha import RedisHost, SentinelGroup  # noqa: E402
from wallet.migrations import upgrade_url  # noqa: E402

SUBNET, BRIDGE, PREFIX = "10.78.0", "wfbr0", "wf"
HOSTS = {"db1": 11, "db2": 12, "db3": 13, "redis1": 31, "redis2": 32, "redis3": 33,
         "user1": 21, "user2": 22, "api": 25, "hook": 30, "worker": 40, "bank": 50}
APP_HOSTS = ("user1", "user2", "api", "hook", "worker")
APP_PORT = 8000
SCHEDULE = (("primary kill -9", 0.12), ("etcd member kill", 0.27), ("redis master kill", 0.4),
            ("primary partition", 0.53), ("worker kill", 0.62), ("switchover", 0.75))
MUTATION = (("replication stalled, primary killed", 0.3), ("replication stalled, primary killed",
                                                         0.7))


def address(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


def on(host: str) -> tuple[str, ...]:
    return ("ip", "netns", "exec", f"{PREFIX}-{host}")


def start_servers(stack: contextlib.ExitStack, args, workdir: Path):
    """The database cluster, Redis with Sentinel, and HAProxy on every app host
    and on the driver."""
    db_hosts = [DbHost(name, address(name), 5432, 8008, 2379, 2380, wrap=on(name))
                for name in ("db1", "db2", "db3")]
    settings = (Settings(synchronous=False, maximum_lag_on_failover=1 << 40)
                if args.mutation else Settings())
    cluster = PatroniCluster(workdir / "cluster", db_hosts, settings)
    stack.callback(cluster.stop)
    cluster.start()
    redis = SentinelGroup(workdir / "redis", [
        RedisHost(name, address(name), 6379, 26379, wrap=on(name))
        for name in ("redis1", "redis2", "redis3")])
    stack.callback(redis.stop)
    redis.start()
    proxies = [HAProxy(workdir, db_hosts, "127.0.0.1", 5000, 5001, wrap=on(host),
                       name=f"haproxy-{host}") for host in APP_HOSTS]
    proxies.append(HAProxy(workdir, db_hosts, f"{SUBNET}.1", 5000, 5001, name="haproxy-driver"))
    for proxy in proxies:
        stack.callback(proxy.stop)
        proxy.start()
    with cluster.connect(str(cluster.leader())) as conn:
        conn.execute("CREATE DATABASE wallet")
    return cluster, redis, proxies[-1]


def rehearse(args, workdir: Path, stats) -> list[str]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(namespaces(SUBNET, BRIDGE, PREFIX, HOSTS))
        cluster, redis, driver_proxy = start_servers(stack, args, workdir)
        upgrade_url(driver_proxy.url())
        app_db = "postgresql+psycopg://postgres@127.0.0.1:5000/wallet?connect_timeout=3"
        hook_url = f"http://{address('hook')}:{APP_PORT}"
        bank_url = f"http://{address('bank')}:{APP_PORT}"
        settings = {**base_settings(args, app_db, redis.url(), workdir),
                    "banks.hdfc.allowed_networks": f"{address('bank')}/32",
                    "banks.hdfc.netbanking_url": f"{bank_url}/hdfc/netbanking",
                    "banks.hdfc.api_url": f"{bank_url}/hdfc/api",
                    "wallet.user_app_url": f"http://{address('user1')}:{APP_PORT}",
                    "api.rate_limit_backend": "redis",
                    "api.rate_limit_redis_url": redis.url(1)}
        bank_db = workdir / "bank.sqlite"
        ini = write_ini(workdir / "hosts.ini", {
            "user": ("user", settings), "webhook": ("webhook", settings),
            "api": ("api", settings),
            "bank": ("fake_bank", bank_settings(args, settings, bank_db, hook_url))})
        apps = {name: AppProcess(ini, app, APP_PORT, host=address(name), threads=threads,
                                 wrap=on(name), log=workdir / f"{name}.log")
                for name, app, threads in (("bank", "bank", 16), ("hook", "webhook", 8),
                                           ("user1", "user", 12), ("user2", "user", 12),
                                           ("api", "api", 4))}
        for app in apps.values():
            app.start()
            stack.callback(app.stop)
        worker = WorkerProcess(ini, workdir, wrap=on("worker"))
        stack.callback(worker.stop)
        bank_engine = ledgerlib.create_engine(f"sqlite:///{bank_db}")
        stack.callback(bank_engine.dispose)
        faults = FailoverFaults(random.Random(args.seed + 1), cluster, redis,
                                lambda name: f"{PREFIX}-{name}")
        acks = AckLog()
        stage = Stage(settings={**settings, "sqlalchemy.url": driver_proxy.url()},
                      user_urls=[apps["user1"].url, apps["user2"].url],
                      bank_books=sessionmaker(bank_engine), set_knobs=set_knobs(bank_url),
                      fault_actions={"worker kill": worker.kill, **faults.actions()},
                      health={name: apps[name].url for name in ("user1", "user2", "api",
                                                                  "hook")},
                      acks=acks, fault_schedule=MUTATION if args.mutation else SCHEDULE)
        windows: list = []
        problems = exercise(stage, args, stats, windows_out=windows)
        problems += final_checks(cluster, stage, acks, windows, stats)
        return problems


def final_checks(cluster: PatroniCluster, stage: Stage, acks: AckLog, windows: list,
                 stats) -> list[str]:
    from wallet.db import WalletSession, get_engine

    problems = []
    engine = get_engine(stage.settings)
    with WalletSession(engine) as session:
        problems += check_acks(session, acks.acks)
    engine.dispose()
    stats["acknowledged operations checked"] = len(acks.acks)
    for key, value in acks.counts().items():
        stats[f"answers: {key}"] = value
    wrong = acks.unexpected_answers()
    if wrong:
        problems.append(f"{len(wrong)} answers 5xx other than 503 with Retry-After")
    ordered = sorted(windows, key=lambda w: w.start)
    worst = 0.0
    for number, window in enumerate(ordered):
        until = ordered[number + 1].start if number + 1 < len(ordered) else None
        recovery = acks.recovery_s(window.start, until)
        stats[f"recovery {number + 1} {window.kind}"] = (
            f"{recovery} s, slowest answer {acks.slowest_s(window.start, until)} s "
            f"(fault {window.end - window.start:.1f} s) {window.detail}")
        if recovery is None or recovery > 30:
            problems.append(f"{window.kind}: recovery {recovery} s (limit 30 s)")
        worst = max(worst, recovery or 0.0)
    stats["worst recovery s"] = worst
    try:
        roles = wait_for("the cluster whole at the end", cluster.healthy, 60)
    except TimeoutError:
        roles = None
    stats["cluster at the end"] = roles
    if roles is None:
        problems.append("the cluster is not whole at the end (a node did not rejoin)")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--ops", type=int, default=2800)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--shops", type=int, default=3)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--settle-s", type=float, default=120)
    parser.add_argument("--mutation", action="store_true",
                        help="asynchronous replication, aggressive failover: must FAIL")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("failover: FAILED needs root (ip netns)")
        return 2
    print(f"failover rehearsal on {len(HOSTS)} hosts: seed {args.seed}, {args.ops} operations, "
          f"{args.users} users, {args.clients} clients"
          + (", MUTATION: asynchronous replication, aggressive failover" if args.mutation
             else ", synchronous replication"))
    workdir = Path(tempfile.mkdtemp(prefix="failover-"))
    workdir.chmod(0o755)
    stats: collections.Counter = collections.Counter()
    try:
        problems = rehearse(args, workdir, stats)
    except (TimeoutError, RuntimeError) as exc:
        problems = [f"{type(exc).__name__}: {exc} (logs in {workdir})"]
    print_stats(stats)
    if problems:
        return verdict("failover", problems)
    print(f"failover: ok {stats['acknowledged operations checked']} acknowledged operations "
          f"checked, worst recovery {stats['worst recovery s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
