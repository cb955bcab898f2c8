"""A rehearsal of a deployment on several hosts, on one machine (root needed):

    python bench/netns_rehearsal.py [--seed 5] [--ops 120] [--infra-faults]

Each host is a Linux network namespace with a veth pair into one bridge
(10.77.0.0/24); the driver (people's browsers, the operator's sweeps and the
checks) runs in this namespace, at 10.77.0.1:

    db      10.77.0.10  PostgreSQL :5432 and Redis :6379 (the run's own servers)
    user1   10.77.0.21  user app :8000
    user2   10.77.0.22  user app :8000
    hook    10.77.0.30  webhook app :8000 (HDFC allowed from 10.77.0.50/32 only)
    worker  10.77.0.40  Huey workers
    bank    10.77.0.50  the fake bank :8000

First it shows the webhook app's allow-list working on real addresses: a
correctly signed webhook sent from user1 is refused (403) and the same sent
from the bank's host is accepted (200). Then it runs the chaos workload
(bench/chaos.py) across the hosts -- people spread over both user apps, a
worker killed mid-run, with ``--infra-faults`` PostgreSQL and Redis crashed
too -- and prints its figures. The last line is ``rehearsal: ok`` or
``rehearsal: FAILED <what>``; so is the exit status. Everything (namespaces,
bridge, servers) is removed at the end.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

import ledgerlib  # noqa: E402
from bench.chaos import (  # noqa: E402
    PASSWORD,
    Stage,
    WorkerProcess,
    bank_settings,
    base_settings,
    exercise,
    infra_fault_actions,
    print_stats,
    verdict,
)
from bench.infra import AppProcess, LocalPostgres, LocalRedis, write_ini  # noqa: E402
from tests.wallet_helpers import deposit_service  # noqa: E402
from wallet.banking.models.webhook import WebhookAttempt as Heard  # noqa: E402
from wallet.core.models import Transaction  # noqa: E402
from wallet.db import WalletSession, get_engine  # noqa: E402
from wallet.identity.accounts import AccountService  # noqa: E402
from wallet.migrations import upgrade_url  # noqa: E402
from wallet.settings import WalletSettings  # noqa: E402

SUBNET = "10.77.0"
BRIDGE = "wrbr0"
HOSTS = {"db": 10, "user1": 21, "user2": 22, "hook": 30, "worker": 40, "bank": 50}
APP_PORT = 8000


def address(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


def on(host: str) -> tuple[str, ...]:
    """The command prefix that runs a program on ``host``."""
    return ("ip", "netns", "exec", f"wr-{host}")


def ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def network_down() -> None:
    namespaces_down(BRIDGE, "wr", HOSTS)


def namespaces_down(bridge: str, prefix: str, hosts: dict[str, int]) -> None:
    for host in hosts:
        # Whatever still runs there (it would keep the namespace and its veth alive).
        pids = subprocess.run(["ip", "netns", "pids", f"{prefix}-{host}"],
                              capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        ip("netns", "del", f"{prefix}-{host}", check=False)
        # The host's end of the veth goes with the namespace, but only once
        # nothing holds it any more: a leftover would make the next "add" fail.
        ip("link", "del", f"{prefix}-{host}-h", check=False)
    ip("link", "del", bridge, check=False)


@contextlib.contextmanager
def namespaces(subnet: str, bridge: str, prefix: str, hosts: dict[str, int]):
    """A network namespace ``<prefix>-<host>`` per host at ``<subnet>.<n>``, each
    with a veth pair into one bridge (this namespace is ``<subnet>.1``);
    removed on the way out (and leftovers of an interrupted run first)."""
    namespaces_down(bridge, prefix, hosts)
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{subnet}.1/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for host, number in hosts.items():
            ns, veth = f"{prefix}-{host}", f"{prefix}-{host}-h"
            ip("netns", "add", ns)
            ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("link", "set", veth, "master", bridge, "up")
            ip("-n", ns, "addr", "add", f"{subnet}.{number}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        namespaces_down(bridge, prefix, hosts)


def network():
    """The hosts and the bridge between them; removed on the way out."""
    return namespaces(SUBNET, BRIDGE, "wr", HOSTS)


def send_signed_webhook(host: str, url: str, secret: str, event_id: str, body: str) -> int:
    """POST a correctly signed webhook from ``host`` (the bank's own signing code)."""
    program = ("import os, sys; from fake_bank.sender import post_webhook; "
               "print(post_webhook(sys.argv[1], os.environ['SECRET'], sys.argv[2], "
               "sys.argv[3].encode()))")
    done = subprocess.run([*on(host), sys.executable, "-c", program, url, event_id, body],
                          env={**os.environ, "PYTHONPATH": str(ROOT), "SECRET": secret},
                          capture_output=True, text=True, timeout=60, check=True)
    return int(done.stdout.strip())


def allow_list_check(settings: dict, engine, webhook_url: str, stats) -> list[str]:
    """A pending deposit; the bank's "deposit.failed" for it, correctly signed,
    sent from user1 (refused: not the bank's address) and then from the bank's
    host (accepted: the deposit fails)."""
    banks = WalletSettings.from_dict(settings).banks
    with WalletSession(engine) as session, session.begin():
        user = AccountService(session, bcrypt_rounds=4).signup(
            "+917999900001", "Allow List", PASSWORD)
        deposit = deposit_service(session, dict(banks)).start(user, "hdfc", 50_000,
                                                             "allow-list-check-0001")
        token, tx_id = deposit.token, deposit.id
    body = json.dumps({"type": "deposit.failed", "reference": token, "amount_paise": 50_000,
                       "currency": "INR", "bank_txn_id": "HDFC-REHEARSAL",
                       "reason": "declined"}, separators=(",", ":"))
    secret = settings["banks.hdfc.webhook_secrets"].split()[0]
    url = f"{webhook_url}/webhooks/hdfc"
    from_app = send_signed_webhook("user1", url, secret, "evt_rehearsal_1", body)
    with WalletSession(engine) as session:
        after_app = session.get(Transaction, tx_id).status
    from_bank = send_signed_webhook("bank", url, secret, "evt_rehearsal_2", body)
    with WalletSession(engine) as session:
        after_bank = session.get(Transaction, tx_id).status
    stats["signed webhook from user1 (app host)"] = f"{from_app}, deposit {after_app}"
    stats["signed webhook from bank host"] = f"{from_bank}, deposit {after_bank}"
    problems = []
    if (from_app, after_app) != (403, "pending"):
        problems.append(f"webhook from the app host answered {from_app}, deposit {after_app}")
    if (from_bank, after_bank) != (200, "failed"):
        problems.append(f"webhook from the bank host answered {from_bank}, "
                        f"deposit {after_bank}")
    return problems


def set_knobs(bank_url: str):
    def post(knobs: dict) -> None:
        request = urllib.request.Request(f"{bank_url}/_control/knobs",
                                         data=json.dumps(knobs).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    return post


def rehearse(args, workdir: Path, stats) -> list[str]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(network())
        (workdir / "pg").mkdir()
        (workdir / "redis").mkdir()
        postgres = LocalPostgres(workdir / "pg", 5432, host=address("db"), wrap=on("db"))
        postgres.init()
        postgres.start()
        stack.callback(postgres.destroy)
        postgres.create_database("wallet")
        redis = LocalRedis(workdir / "redis", 6379, host=address("db"), wrap=on("db"))
        redis.start()
        stack.callback(redis.destroy)
        db_url = postgres.url()
        upgrade_url(db_url)

        hook_url = f"http://{address('hook')}:{APP_PORT}"
        bank_url = f"http://{address('bank')}:{APP_PORT}"
        settings = {**base_settings(args, db_url, redis.url(), workdir),
                    "banks.hdfc.allowed_networks": f"{address('bank')}/32",
                    "banks.hdfc.netbanking_url": f"{bank_url}/hdfc/netbanking",
                    "banks.hdfc.api_url": f"{bank_url}/hdfc/api",
                    "wallet.user_app_url": f"http://{address('user1')}:{APP_PORT}"}
        bank_db = workdir / "bank.sqlite"
        ini = write_ini(workdir / "hosts.ini", {
            "user": ("user", settings), "webhook": ("webhook", settings),
            "bank": ("fake_bank", bank_settings(args, settings, bank_db, hook_url))})
        apps = {name: AppProcess(ini, app, APP_PORT, host=address(name), threads=threads,
                                 wrap=on(name), log=workdir / f"{name}.log")
                for name, app, threads in (("bank", "bank", 16), ("hook", "webhook", 8),
                                           ("user1", "user", 12), ("user2", "user", 12))}
        for app in apps.values():
            app.start()
            stack.callback(app.stop)
        worker = WorkerProcess(ini, workdir, wrap=on("worker"))
        stack.callback(worker.stop)

        engine = get_engine(settings)
        stack.callback(engine.dispose)
        problems = allow_list_check(settings, engine, hook_url, stats)
        bank_engine = ledgerlib.create_engine(f"sqlite:///{bank_db}")
        stack.callback(bank_engine.dispose)
        actions = {"worker kill": worker.kill}
        if args.infra_faults:
            actions.update(infra_fault_actions(random.Random(args.seed + 1), postgres, redis,
                                               apps["hook"]))
        stage = Stage(settings=settings, user_urls=[apps["user1"].url, apps["user2"].url],
                      bank_books=sessionmaker(bank_engine), set_knobs=set_knobs(bank_url),
                      fault_actions=actions,
                      health={name: apps[name].url for name in ("user1", "user2", "hook")})
        problems += exercise(stage, args, stats)
        with WalletSession(engine) as session:  # who the webhook app heard from
            for source, status, count in session.execute(
                    select(Heard.source_ip, Heard.http_status, func.count())
                    .group_by(Heard.source_ip, Heard.http_status)):
                stats[f"webhooks from {source} answered {status}"] = count
        return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--ops", type=int, default=120)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--shops", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--settle-s", type=float, default=90)
    parser.add_argument("--infra-faults", action="store_true")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("rehearsal: FAILED needs root (ip netns)")
        return 2
    print(f"rehearsal on {len(HOSTS)} hosts: seed {args.seed}, {args.ops} operations, "
          f"{args.users} users, {args.clients} clients"
          + (", infrastructure faults" if args.infra_faults else ""))
    workdir = Path(tempfile.mkdtemp(prefix="rehearsal-"))
    workdir.chmod(0o755)  # PostgreSQL runs as its own user under here
    stats: collections.Counter = collections.Counter()
    problems = rehearse(args, workdir, stats)
    print_stats(stats)
    return verdict("rehearsal", problems)


if __name__ == "__main__":
    sys.exit(main())
