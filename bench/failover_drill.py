"""The CI failover drill (root; Debian's patroni, etcd-server, haproxy, pgbouncer):

    python bench/failover_drill.py [--seed 3] [--people 6] [--warm-s 6]

A three-node Patroni cluster on loopback ports (bench/cluster.py), HAProxy in
front of it and PgBouncer in transaction mode in front of HAProxy -- the
documented topology -- and the user app (a process of its own) on PgBouncer.
People send transfers through the app; the primary's host dies (kill -9 of its
Patroni and PostgreSQL) while they do. Then the old primary's host comes back
and must rejoin as a standby (pg_rewind). Checked: every acknowledged transfer
is in the database exactly once; money is conserved; ``verify`` is clean; no
5xx but the documented 503 with Retry-After; the same app process (never
restarted) accepts transfers again; the old primary is a standby. Prints the
recovery time (first refused request to first accepted one) and the figures;
the last line is ``failover-drill: ok ...`` or ``failover-drill: FAILED ...``.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

import ledgerlib  # noqa: E402
from bench.acks import AckLog, check_acks  # noqa: E402
from bench.chaos import CHAOS_PAN_SETTINGS, PIN_KEYS, base_settings, verdict  # noqa: E402
from bench.cluster import DbHost, HAProxy, PatroniCluster, Settings, wait_for  # noqa: E402
from bench.failover_faults import walsenders  # noqa: E402
from bench.infra import AppProcess, write_ini  # noqa: E402
from bench.people import PASSWORD, PIN, Person, keep_sending  # noqa: E402
from bench.read_drill import read_checks  # noqa: E402
from tests.wallet_helpers import deposit_service  # noqa: E402
from wallet.db import WalletSession, get_engine  # noqa: E402
from wallet.identity.accounts import AccountService  # noqa: E402
from wallet.identity.kyc import ApproveAllVerifier, KycDetails, KycService  # noqa: E402
from wallet.identity.pan_vault import PanKeys, PanVault  # noqa: E402
from wallet.identity.pin_hashes import parse_pin_keys  # noqa: E402
from wallet.identity.pins import PinPolicy, Pins  # noqa: E402
from wallet.migrations import upgrade_url  # noqa: E402
from wallet.seed import demo_pan  # noqa: E402
from wallet.settings import WalletSettings  # noqa: E402

NEEDS = ("patroni", "etcd", "haproxy", "pgbouncer", "setpriv")
OPENING_PAISE = 1_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PgBouncer:
    """PgBouncer in transaction mode in front of ``upstream_port`` (HAProxy):
    a failed server login is retried after 1 s, and clients waiting meanwhile
    get an error at once instead of queueing (they are retried by the app)."""

    def __init__(self, workdir: Path, upstream_port: int, database: str = "wallet"):
        self.dir = workdir / "pgbouncer"
        self.dir.mkdir()
        self.port = free_port()
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text("\n".join([
            "[databases]",
            f"{database} = host=127.0.0.1 port={upstream_port} dbname={database}",
            "[pgbouncer]", "listen_addr = 127.0.0.1", f"listen_port = {self.port}",
            "unix_socket_dir =", "auth_type = trust",
            f"auth_file = {self.dir / 'userlist.txt'}", "pool_mode = transaction",
            "default_pool_size = 20", "max_client_conn = 500", "server_login_retry = 1",
            "server_connect_timeout = 3", "query_wait_timeout = 10",
            f"logfile = {self.dir / 'pgbouncer.log'}"]) + "\n")
        for path in (self.dir, *self.dir.iterdir()):
            shutil.chown(path, "postgres")
        self.database = database
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["pgbouncer", "-u", "postgres", str(self.dir / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for("pgbouncer", lambda: socket.create_connection(("127.0.0.1", self.port), 1), 10)

    def url(self) -> str:
        return (f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"
                "?connect_timeout=3")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def make_people(engine, settings: dict, count: int) -> list[tuple[str, int]]:
    """``count`` users with full KYC, the PIN and money: (phone, id)."""
    banks = WalletSettings.from_dict(settings).banks
    made = []
    with WalletSession(engine) as session, session.begin():
        accounts = AccountService(session, bcrypt_rounds=4)
        vault = PanVault(PanKeys.from_settings(CHAOS_PAN_SETTINGS))
        pins = PinPolicy(keys=parse_pin_keys(PIN_KEYS, "chaos", production=False))
        for i in range(count):
            user = accounts.signup(f"+9171{i:08d}", f"Drill {i}", PASSWORD)
            KycService(session, ApproveAllVerifier(), vault).record(
                user, KycDetails(user.name, demo_pan(9_100_000 + i), dt.date(1990, 1, 1)),
                "drill")
            Pins(session, policy=pins).set_first(user, PIN, PIN)
            deposit_service(session, dict(banks)).record_completed(
                user, "hdfc", OPENING_PAISE, f"drill-deposit-{i:08d}")
            made.append((user.phone, user.id))
    return made


def money_checks(engine, people: int) -> list[str]:
    problems = []
    with WalletSession(engine) as session:
        report = ledgerlib.verify(session)
        if not report.ok:
            problems.append("ledger verify: " + "; ".join(report.problems[:3]))
        accounts = ledgerlib.tables.accounts
        held = session.scalar(select(func.sum(accounts.c.posted_paise)).where(
            accounts.c.kind == "liability")) or 0
    if held != people * OPENING_PAISE:
        problems.append(f"conservation: wallets hold {held}, deposited {people * OPENING_PAISE}")
    return problems


def stall_replication_then_kill(cluster: PatroniCluster, victim: str, stall_s: float) -> None:
    stalled = walsenders(cluster, victim)
    for pid in stalled:
        os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(stall_s)  # the primary acknowledges commits it sends to no standby
        cluster.kill_node(victim)
    finally:
        for pid in stalled:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def metrics_checks(cluster: PatroniCluster, figures: dict) -> list[str]:
    """What the alerts read (docs/operations.md): one primary, one synchronous
    standby, and the timeline moved on by the failover."""
    seen = [cluster.metrics(host.name) for host in cluster.hosts]
    primaries = sum(m.get("patroni_primary", 0) for m in seen)
    sync = sum(m.get("patroni_sync_standby", 0) for m in seen)
    timeline = max(m.get("patroni_postgres_timeline", 0) for m in seen)
    figures["patroni metrics: primaries, sync standbys, timeline"] = (primaries, sync, timeline)
    wanted_sync = 1 if cluster.settings.synchronous else 0
    if (primaries, sync) != (1, wanted_sync) or timeline < 2:
        return [f"Patroni's metrics say {primaries} primaries, {sync} synchronous standbys, "
                f"timeline {timeline}"]
    return []


def rejoin(cluster: PatroniCluster, victim: str, fault_at: float, figures: dict) -> list[str]:
    """The old primary's host comes back: it must rejoin as a standby."""
    cluster.start_node(victim)
    rejoined = wait_for("the old primary back as a standby",
                        lambda: (role := (cluster.healthy() or {}).get(victim)) in (
                            "replica", "sync_standby") and role, 90)
    figures["old primary rejoined as"] = f"{rejoined} after {time.monotonic() - fault_at:.1f} s"
    return []


def outcome_checks(args, engine, log: AckLog, fault_at: float, people: int,
                   figures: dict) -> list[str]:
    """Every acknowledged transfer there once, money conserved, verify clean,
    no 5xx but 503 with Retry-After, and transfers accepted again soon."""
    recovery = log.recovery_s(fault_at)
    figures["recovery s (first refused -> first accepted)"] = recovery
    figures["answers"] = dict(log.counts())
    figures["acknowledged transfers checked"] = len(log.acks)
    with WalletSession(engine) as session:
        problems = check_acks(session, log.acks)
    problems += money_checks(engine, people)
    wrong = log.unexpected_answers()
    if wrong:
        problems.append(f"{len(wrong)} answers 5xx other than 503 with Retry-After")
    after = [o for o in log.outcomes if o.started > fault_at and o.accepted]
    if len(after) < 5:
        problems.append(f"only {len(after)} transfers accepted after the failover")
    if recovery is None or recovery > args.limit_s:
        problems.append(f"recovery took {recovery} s (limit {args.limit_s} s)")
    if len(log.acks) < args.min_acks:
        problems.append(f"only {len(log.acks)} acknowledged transfers (want {args.min_acks})")
    return problems


def drill(args, workdir: Path, figures: dict) -> list[str]:
    hosts = [DbHost(f"db{i}", "127.0.0.1", free_port(), free_port(), free_port(), free_port())
             for i in (1, 2, 3)]
    cluster = PatroniCluster(workdir / "cluster", hosts, Settings(
        synchronous=False, maximum_lag_on_failover=1 << 40) if args.mutation else Settings())
    haproxy = HAProxy(workdir, hosts, "127.0.0.1", free_port(), free_port())
    bouncer = PgBouncer(workdir, haproxy.primary_port)
    app: AppProcess | None = None
    stop = threading.Event()
    try:
        started = time.monotonic()
        cluster.start()
        haproxy.start()
        bouncer.start()
        leader = cluster.leader()
        with cluster.connect(str(leader)) as conn:
            conn.execute("CREATE DATABASE wallet")
        upgrade_url(haproxy.url())
        settings = {**base_settings(args, bouncer.url(), "", workdir),
                    "retry.attempts": "3",
                    # history pages from a standby (webcommon.reads)
                    "sqlalchemy.read_url": haproxy.url(replica=True) + "?connect_timeout=2"}
        engine = get_engine({**settings, "sqlalchemy.url": haproxy.url()})
        people = make_people(engine, settings, args.people)
        ini = write_ini(workdir / "apps.ini", {"user": ("user", settings)})
        app = AppProcess(ini, "user", free_port(), threads=12, log=workdir / "user.log")
        app.start()
        app_pid = app.process.pid if app.process else None
        figures["set-up s"] = round(time.monotonic() - started, 1)
        log = AckLog()
        persons = [Person(app.url, phone, uid, log) for phone, uid in people]
        for person in persons:
            person.log_in()
        phones = [phone for phone, _ in people]
        rng = random.Random(args.seed)
        threads = [threading.Thread(target=keep_sending, daemon=True, args=(
            p, [x for x in phones if x != p.phone], stop, random.Random(rng.random())))
            for p in persons]
        for thread in threads:
            thread.start()
        time.sleep(args.warm_s)
        victim = str(cluster.leader())
        fault_at = time.monotonic()
        if args.mutation:  # replication stalls a while, then the primary dies
            stall_replication_then_kill(cluster, victim, args.stall_s)
        else:
            cluster.kill_node(victim)
        new_leader = wait_for("a new primary", lambda: (n := cluster.leader()) != victim and n,
                              60)
        figures["new primary after s"] = round(time.monotonic() - fault_at, 1)
        wait_for("a transfer accepted after the failover",
                 lambda: log.recovery_s(fault_at) is not None and time.monotonic() - fault_at > 3,
                 60)
        problems: list[str] = []
        if not args.mutation:  # (the mutation's run is meant to fail at the checks)
            problems += rejoin(cluster, victim, fault_at, figures)
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        if not args.mutation:
            problems += read_checks(cluster, persons[0], persons[1], figures)
            problems += metrics_checks(cluster, figures)
        figures["primary"] = f"{victim} -> {new_leader}"
        problems += outcome_checks(args, engine, log, fault_at, len(people), figures)
        if app.process is None or app.process.pid != app_pid or app.process.poll() is not None:
            problems.append("the user app was restarted")
        engine.dispose()
        return problems
    finally:
        stop.set()
        if app is not None:
            app.stop()
        bouncer.stop()
        haproxy.stop()
        cluster.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--warm-s", type=float, default=6)
    parser.add_argument("--limit-s", type=float, default=30)
    parser.add_argument("--min-acks", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--mutation", action="store_true",
                        help="asynchronous replication, any lag promoted, the primary's WAL "
                             "senders stalled before it dies: must FAIL")
    parser.add_argument("--stall-s", type=float, default=3)
    args = parser.parse_args(argv)
    missing = [name for name in NEEDS if shutil.which(name) is None]
    if os.geteuid() != 0 or missing:
        print(f"failover-drill: FAILED needs root and {', '.join(missing) or 'nothing else'}")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="failover-drill-"))
    workdir.chmod(0o755)
    figures: dict = {}
    try:
        problems = drill(args, workdir, figures)
    except (TimeoutError, RuntimeError, subprocess.CalledProcessError) as exc:
        problems = [f"{type(exc).__name__}: {exc} (logs in {workdir})"]
        args.keep = True
    for key, value in figures.items():
        print(f"  {key:<46} {value}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    extra = (f" recovery {figures.get('recovery s (first refused -> first accepted)')} s, "
             f"{figures.get('acknowledged transfers checked', 0)} acknowledged transfers checked")
    if problems:
        return verdict("failover-drill", problems)
    print(f"failover-drill: ok{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
