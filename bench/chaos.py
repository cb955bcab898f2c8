"""A seeded chaos run of the whole wallet (in the spirit of Jepsen's bank test).

    python bench/chaos.py --seed 7 --ops 2000 [--clients 8] [--db-url URL] [--redis-url URL]
    python bench/chaos.py --seed 7 --ops 2000 --infra-faults

Serves the user app, webhook app and fake bank over HTTP (waitress, loopback)
and runs Huey workers as a separate process. Many users drive deposits,
transfers, shop payments and withdrawals concurrently while the fake bank
misbehaves (latency, 503s, timeouts, lost replies, reversals; lost, duplicated
and delayed webhooks) and the worker process is killed and restarted mid-run.

With ``--infra-faults`` the run starts a PostgreSQL and a Redis of its own
(bench/infra.py; never the machine's shared ones) and, while the clients keep
going, crashes and restarts PostgreSQL, kills backends in the middle of their
transactions, restarts Redis empty (queued tasks lost: the sweeps must find the
work again in the database) and takes the webhook app down for a while (the bank
retries). On top of the checks below: no request answered 5xx while the
database was up (a 503 while it is down is right), /readyz of each app said
"not ready" while the database was down and "degraded" while Redis was, and
every app said "ready" again by itself soon after each fault (bench/faults.py).
Then the bank calms down, the sweepers and an operator settle what is left, and
the run checks that money is conserved across our ledger and the bank's books.
Its last line is ``chaos: ok`` or ``chaos: FAILED <what>``; so is its exit status.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import datetime as dt
import http.cookiejar
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import fake_bank  # noqa: E402
import huey_tasks  # noqa: E402
import webapp  # noqa: E402
from bench.acks import Ack, AckLog, Outcome  # noqa: E402
from bench.chaos_checks import check  # noqa: E402
from bench.faults import Faults, HealthMonitor, Window  # noqa: E402
from bench.infra import AppProcess, RestartableServer, local_servers, write_ini  # noqa: E402
from fake_bank.models import Delivery, Payout  # noqa: E402
from tests.wallet_helpers import bank_client, sweep_stuck_deposits, withdrawal_service  # noqa: E402
from wallet.banking.banks import load_banks  # noqa: E402
from wallet.core.models import Transaction  # noqa: E402
from wallet.db import WalletSession, get_engine  # noqa: E402
from wallet.identity.accounts import AccountService  # noqa: E402
from wallet.identity.kyc import ApproveAllVerifier, KycDetails, KycService  # noqa: E402
from wallet.identity.pan_vault import PanKeys, PanVault  # noqa: E402
from wallet.identity.pin_hashes import parse_pin_keys  # noqa: E402
from wallet.identity.pins import PinPolicy, Pins  # noqa: E402
from wallet.migrations import upgrade_url  # noqa: E402
from wallet.seed import demo_pan  # noqa: E402

PIN = "1357"
TX_PAGE = re.compile(r"/(?:transactions|withdrawals)/(\d+)")
PASSWORD = "chaos-pass-123"
#: Hashing: PINs as production (keyed HMAC, a key made per run); passwords
#: cheaper than production's bcrypt cost 12 (checked once per person, at log-in).
PIN_KEYS = "chaos:" + secrets.token_urlsafe(32)
PASSWORD_BCRYPT_ROUNDS = 4
HASHING = ("hashing: PINs keyed HMAC-SHA-256 as in production; passwords bcrypt cost "
           f"{PASSWORD_BCRYPT_ROUNDS}, not production's 12 (checked once per person, at log-in)")


class Client:
    """One person's browser: cookies, forms, no redirects followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, stats, acks: AckLog | None = None, user_id: int = 0):
        self.stats = stats
        # A failover run keeps every answer and acknowledgement (bench/acks.py).
        self.acks, self.user_id = acks, user_id
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect())

    def request(self, url, form=None, headers=None):
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(url, data=data, headers=headers or {})
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=30) as response:
                status, location, body = (response.status, response.headers.get("Location"),
                                          response.read())
                retry_after = "Retry-After" in response.headers
        except urllib.error.HTTPError as error:
            status, location, body = error.code, error.headers.get("Location"), error.read()
            retry_after = "Retry-After" in error.headers
        except OSError as error:
            self.stats["http errors"] += 1
            self.stats.setdefault("http error samples", []).append(f"{url}: {error}")
            self.stats.setdefault("unanswered", []).append((started, time.monotonic(), url))
            self._keep(url, Outcome(started, time.monotonic(), 0))
            return 0, None, ""
        self._keep(url, Outcome(started, time.monotonic(), status, retry_after))
        self.stats[f"http {status // 100}xx"] += 1
        if status >= 500 and "/netbanking/" not in url:  # the bank's 503s are on purpose
            self.stats.setdefault("5xx samples", []).append(f"{status} {url}")
            self.stats.setdefault("5xx", []).append((started, time.monotonic(), status, url))
        return status, location, body.decode("utf-8", "replace")

    def _keep(self, url: str, outcome: Outcome) -> None:
        if self.acks is not None and "/netbanking/" not in url:  # the bank's are its own
            self.acks.outcome(outcome)

    def form(self, url):
        for _ in range(20 if self.acks is not None else 1):
            status, _, page = self.request(url)
            if status not in (0, 503):
                break
            time.sleep(0.5)  # "back in a moment": a person reloads
        return dict(re.findall(r'name="(csrf_token|request_key)" value="([^"]+)"', page))


@dataclasses.dataclass
class Stage:
    """Where a run's services are, as seen from the driver, and how to poke them:
    in one process here (:func:`local_stage`), or on several hosts
    (bench/netns_rehearsal.py)."""

    settings: dict  # the wallet's settings (database, Redis, the bank's URLs)
    user_urls: list[str]  # one or more user-app servers; people are spread over them
    bank_books: Callable[[], Session]  # a session on the fake bank's own database
    set_knobs: Callable[[dict], None]  # the bank's misbehaviour
    fault_actions: dict[str, Callable[[Window], None]]  # at least "worker kill"
    health: dict[str, str] = dataclasses.field(default_factory=dict)  # app -> base URL
    acks: AckLog | None = None  # a failover run: every answer and acknowledgement kept
    fault_schedule: tuple[tuple[str, float], ...] | None = None  # (kind, fraction of the run)


#: PAN keys for the chaos run's full-KYC wallets (wallet.identity.pan_vault).
CHAOS_PAN_SETTINGS = {"wallet.pan_keys": "c1:chaos-pan-key-" + "p" * 24 + "0123456789",
                      "wallet.pan_key_id": "c1",
                      "wallet.pan_hmac_key": "chaos-pan-fingerprint-" + "f" * 20 + "abcdefgh"}


def base_settings(args, db_url: str, redis_url: str, workdir: Path) -> dict:
    settings = {
        "sqlalchemy.url": db_url, "wallet.environment": "chaos",
        "wallet.session_secret": "chaos-session-secret-" + "c" * 32,
        # PINs as production hashes them (keyed HMAC); passwords at bcrypt cost 4,
        # not production's 12: each is checked once per person, at log-in (said
        # in the run's output).
        "wallet.bcrypt_rounds": str(PASSWORD_BCRYPT_ROUNDS), "wallet.pin_keys": PIN_KEYS,
        "wallet.pin_key_id": "chaos",
        "retry.attempts": "5", "banks.enabled": "hdfc",
        "banks.hdfc.name": "HDFC Bank", "banks.hdfc.api_key": "chaos-api-key-" + "k" * 20,
        "banks.hdfc.webhook_secrets": "chaos-webhook-secret-" + "s" * 20,
        "banks.hdfc.allowed_networks": "127.0.0.0/8",
        # Placeholders until the fake bank is up (the webhook app needs no URLs).
        "banks.hdfc.netbanking_url": "http://127.0.0.1:9/hdfc/netbanking",
        "banks.hdfc.api_url": "http://127.0.0.1:9/hdfc/api",
        "wallet.bank_timeout_s": "1.0", "wallet.payout_backoff_base_s": "0.2",
        "wallet.payout_backoff_cap_s": "2", "wallet.payout_retry_budget": "8",
        "wallet.payout_lease_s": "5", "wallet.payout_resume_after_s": "1",
        "wallet.user_app_url": "http://127.0.0.1", **CHAOS_PAN_SETTINGS,
    }
    if redis_url:
        settings.update({"huey.backend": "redis", "huey.url": redis_url})
    else:
        settings.update({"huey.backend": "sqlite", "huey.path": str(workdir / "huey.sqlite")})
    return settings


def bank_settings(args, base: dict, bank_db: Path, webhook_url: str) -> dict:
    return {**base, "fake_bank.sqlalchemy.url": f"sqlite:///{bank_db}",
            "fake_bank.sender": "thread", "fake_bank.seed": str(args.seed),
            "fake_bank.allow_overrides": "true",
            "fake_bank.webhook_url": f"{webhook_url}/webhooks/{{bank}}",
            # Customers who never run out: every decline is the chaos's doing.
            "fake_bank.customer_balance_paise": str(10**13)}


class WorkerProcess:
    """The Huey consumer, as a process that can be killed and started again."""

    def __init__(self, ini: Path, workdir: Path, wrap: tuple[str, ...] = ()):
        self.ini = ini  # the worker reads its [app:user] section
        self.log = (workdir / "worker.log").open("a")
        self.wrap = wrap
        self.process = self._start()

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(
            [*self.wrap, sys.executable, "-m", "huey.bin.huey_consumer", "huey_tasks.consumer.huey",
             "-w", "4", "-n"],
            env={**os.environ, "WALLET_INI": str(self.ini), "PYTHONPATH": str(ROOT)},
            stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self, window: Window | None = None) -> None:
        """Dies wherever it is (SIGKILL), and a fresh one starts."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = self._start()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        self.log.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def local_stage(args, workdir: Path):
    """Every service in this process on loopback (the worker a process of its
    own); with ``--infra-faults``, on a PostgreSQL and a Redis of the run's own,
    which the faults crash and restart."""
    with contextlib.ExitStack() as stack:
        servers = None
        if args.infra_faults:
            servers = stack.enter_context(local_servers(workdir, free_port(), free_port()))
            db_url, redis_url = servers[0].url(), servers[1].url()
        else:
            db_url = args.db_url or f"sqlite:///{workdir / 'wallet.sqlite'}"
            redis_url = args.redis_url
        upgrade_url(db_url)
        base = base_settings(args, db_url, redis_url, workdir)
        # The webhook app first (a process of its own, so that it can crash):
        # the bank needs its URL.
        write_ini(workdir / "apps.ini", {"webhook": ("webhook", base)})
        webhook = AppProcess(workdir / "apps.ini", "webhook", free_port())
        webhook.start()
        stack.callback(webhook.stop)
        bank_wsgi = fake_bank.main({}, **bank_settings(args, base, workdir / "bank.sqlite",
                                                       webhook.url))
        stack.callback(bank_wsgi.registry["fb.sender"].stop)
        bank = RestartableServer(bank_wsgi, threads=16)
        bank.start()
        stack.callback(bank.stop)
        settings = {**base, "banks.hdfc.netbanking_url": f"{bank.url}/hdfc/netbanking",
                    "banks.hdfc.api_url": f"{bank.url}/hdfc/api"}
        user = RestartableServer(webapp.main({}, **settings), threads=16)
        user.start()
        stack.callback(user.stop)
        ini = write_ini(workdir / "apps.ini", {"user": ("user", settings),
                                                "webhook": ("webhook", base)})
        worker = WorkerProcess(ini, workdir)
        stack.callback(worker.stop)
        actions: dict[str, Callable[[Window], None]] = {"worker kill": worker.kill}
        if servers is not None:
            actions.update(infra_fault_actions(random.Random(args.seed + 1), *servers, webhook))
        yield Stage(settings=settings, user_urls=[user.url],
                    bank_books=bank_wsgi.registry["fb.session_factory"],
                    set_knobs=bank_wsgi.registry["fb.behaviour"].update,
                    fault_actions=actions,
                    health={"user app": user.url, "webhook app": webhook.url}
                    if servers is not None else {})


def infra_fault_actions(rng: random.Random, postgres, redis, webhook) -> dict:
    """What each infrastructure fault does (seeded lengths and victims)."""

    def kill_backends(window: Window) -> None:
        killed = postgres.kill_in_transaction(rng, "wallet", rng.randint(3, 8), 2.0)
        window.detail = f"({killed} backends killed mid-transaction)"

    def restart_postgres(window: Window) -> None:
        postgres.stop("immediate")  # as a crash: every backend gone at once
        time.sleep(rng.uniform(2, 4))
        postgres.start()

    def restart_redis(window: Window) -> None:
        redis.stop()  # SIGKILL, no persistence: every queued task is lost
        time.sleep(rng.uniform(1, 2))
        redis.start()

    def webhook_down(window: Window) -> None:
        webhook.kill()  # the bank's deliveries fail; it retries with backoff
        time.sleep(rng.uniform(3, 6))
        webhook.start()

    return {"kill backends": kill_backends, "postgres restart": restart_postgres,
            "redis restart": restart_redis, "webhook app down": webhook_down}


def run(args) -> list[str]:
    stats: collections.Counter = collections.Counter()
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    workdir.chmod(0o755)  # PostgreSQL runs as its own user under here
    with local_stage(args, workdir) as stage:
        problems = exercise(stage, args, stats)
    print_stats(stats)
    return problems


def exercise(stage: Stage, args, stats, windows_out: list | None = None) -> list[str]:
    """People sign up and drive the wallet through the stage while the bank
    misbehaves and the faults strike; then calm, settling, and the checks."""
    rng = random.Random(args.seed)
    settings = stage.settings
    huey_tasks.configure(settings)  # the sweeps below queue where the workers look
    engine = get_engine(settings)
    users = [f"+9170000{i:05d}" for i in range(args.users)]
    ids = {}
    with WalletSession(engine) as session, session.begin():
        accounts = AccountService(session, bcrypt_rounds=PASSWORD_BCRYPT_ROUNDS)
        for phone in users:  # each full KYC, with a wallet PIN (asked before payments)
            user = accounts.signup(phone, f"Chaos {phone[-4:]}", PASSWORD)
            session.flush()
            ids[phone] = user.id
            KycService(session, ApproveAllVerifier(),
                       PanVault(PanKeys.from_settings(CHAOS_PAN_SETTINGS))).record(
                user, KycDetails(user.name, demo_pan(int(phone[-10:])), dt.date(1990, 1, 1)),
                "chaos")
            Pins(session, policy=PinPolicy(keys=parse_pin_keys(PIN_KEYS, "chaos", production=False))
                 ).set_first(user, PIN, PIN)
        shops = [accounts.signup_merchant(f"shop-{i}", f"Shop {i}", f"shop{i}@chaos.in",
                                          PASSWORD).handle for i in range(args.shops)]
    # Each person uses one of the user-app servers (as a load balancer would pin them).
    home = {phone: stage.user_urls[i % len(stage.user_urls)] for i, phone in enumerate(users)}
    clients = {phone: Client(stats, stage.acks, ids[phone]) for phone in users}
    for phone, client in clients.items():
        fields = client.form(f"{home[phone]}/login")
        client.request(f"{home[phone]}/login", {**fields, "phone": phone, "password": PASSWORD})

    stage.set_knobs({"latency_ms": 20, "failure_rate": 0.1, "timeout_rate": 0.05,
                     "timeout_s": 1.5, "reply_lost_rate": 0.1, "reverse_rate": 0.05,
                     "reverse_after_s": 1.0})
    locks = {phone: threading.Lock() for phone in users}  # a person has one phone
    plan = [(rng.choice(users), rng.random(), rng.random(), rng.randint(1, 10**6))
            for _ in range(args.ops)]
    faults = Faults(rng, args.ops, stage.fault_actions, schedule=stage.fault_schedule)
    monitor = HealthMonitor(stage.health)
    monitor.start()

    def operation(step):
        phone, pick, knob, n = step
        with locks[phone]:
            one_operation(clients[phone], home[phone], phone, pick, knob, random.Random(n),
                          users, shops, stats)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        futures = [pool.submit(operation, step) for step in plan]
        for i, future in enumerate(futures):
            future.result()
            faults.at(i)
    faults.wait()
    stats["seconds driving"] = round(time.monotonic() - started)
    problems = settle(stage, args, engine, stats)
    monitor.stop()
    problems += monitor.report(faults.windows, stats)
    stats["faults injected"] = len(faults.windows)
    if windows_out is not None:
        windows_out.extend(faults.windows)
    problems += check(engine, stage.bank_books, stats, faults)
    engine.dispose()
    return problems


def one_operation(client, user_url, phone, pick, knob, r, users, shops, stats) -> None:
    if pick < 0.25:
        deposit(client, user_url, r, knob, stats)
    elif pick < 0.55:
        other = r.choice([u for u in users if u != phone])
        send(client, user_url, "/send", {
            "phone": other[3:], "amount": f"{r.randint(1, 300)}.{r.randint(0, 99):02d}",
            "note": "chaos"}, stats)
    elif pick < 0.8:
        send(client, user_url, f"/pay/{r.choice(shops)}",
             {"amount": f"{r.randint(1, 200)}", "note": "chai"}, stats)
    else:
        account = r.choice(["50100012345678", "50100012349999", "00000012345678"])
        send(client, user_url, "/withdraw", {"bank": "hdfc", "account_number": account,
                                             "ifsc": "HDFC0001234",
                                             "amount": f"{r.randint(1, 400)}"}, stats)
    stats["operations"] += 1


def send(client, user_url, path, form, stats):  # the form and its confirm step's PIN at once
    fields = client.form(f"{user_url}{path}")
    for _ in range(20 if client.acks is not None and fields else 1):
        # 503 or no answer: not known whether it happened; the same form again
        # (its request key) is applied at most once, as the 503 page says.
        status, location, _ = client.request(f"{user_url}{path}",
                                             {**fields, **form, "pin": PIN})
        if status not in (0, 503):
            break
        time.sleep(0.5)
    stats[f"{path.split('/')[1]} {status}"] += 1
    page = TX_PAGE.search(location or "") if status == 303 else None
    if client.acks is not None and page and "request_key" in fields:
        client.acks.ack(Ack(path.split("/")[1], client.user_id, fields["request_key"],
                            int(page.group(1)), paise(form["amount"])))


def paise(rupees: str) -> int:
    whole, _, fraction = rupees.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


def deposit(client, user_url, r, knob, stats):
    fields = client.form(f"{user_url}/add-money")
    status, location, _ = client.request(f"{user_url}/add-money", {
        **fields, "bank": "hdfc", "amount": f"{r.randint(100, 3000)}"})
    if status != 303 or not location:
        return
    _, _, page = client.request(urllib.parse.urljoin(user_url, location))
    action = re.search(r'action="([^"]+/netbanking/[^"]+)"', page)
    if action is None:
        return
    mode = ("lost" if knob < 0.1 else "twice" if knob < 0.2
            else "delayed" if knob < 0.3 else "normal")
    verdict = "approve" if r.random() < 0.85 else "decline"
    for _ in range(10):  # "the bank is having trouble": a person clicks again
        status, _, _ = client.request(
            action.group(1), {"action": verdict, "customer_id": "1"},
            headers={"X-Fake-Bank-Webhook": mode, "X-Fake-Bank-Webhook-Delay-S": "2"})
        if status != 503:
            break
    stats[f"deposit {verdict} ({mode})"] += 1


def settle(stage: Stage, args, engine, stats) -> list[str]:
    """Calm: the bank behaves; sweepers, the recovery task and an operator
    finish the work. A problem if work is still open after ``--settle-s``."""
    stage.set_knobs({"latency_ms": 0, "failure_rate": 0, "timeout_rate": 0,
                     "reply_lost_rate": 0, "reverse_rate": 0})
    banks = load_banks(stage.settings)
    open_statuses = ("pending", "queued", "sending", "needs_review")

    def run_in_transaction(fn):
        with WalletSession(engine, expire_on_commit=False) as session, session.begin():
            return fn(session)

    deadline = time.monotonic() + args.settle_s
    while time.monotonic() < deadline:
        sweep_stuck_deposits(run_in_transaction, banks, bank_client,
                             older_than=dt.timedelta(0), expire_after=dt.timedelta(0))
        huey_tasks.withdrawals.resume_stalled_withdrawals.call_local()
        with WalletSession(engine) as session:
            for tx_id in session.scalars(select(Transaction.id).where(
                    Transaction.kind == "withdrawal", Transaction.status == "needs_review")):
                with WalletSession(engine) as op, op.begin():  # what an operator would do
                    withdrawal_service(op, banks).operator_retry(tx_id)
                stats["operator retries"] += 1
            open_work = session.scalar(select(func.count()).select_from(Transaction).where(
                Transaction.status.in_(open_statuses)))
        with stage.bank_books() as bank_db:
            undelivered = bank_db.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.delivered_at.is_(None), Delivery.next_attempt_at.is_not(None)))
            unreversed = bank_db.scalar(select(func.count()).select_from(Payout).where(
                Payout.status == "accepted", Payout.reverse_at.is_not(None)))
        if open_work == 0 and undelivered == 0 and unreversed == 0:
            return []
        time.sleep(0.5)
    with WalletSession(engine) as session:
        still = session.execute(select(Transaction.kind, Transaction.status, Transaction.id)
                                .where(Transaction.status.in_(open_statuses))).all()
    return [f"work still open after {args.settle_s} s of calm: {still[:5]}, "
            f"{undelivered} webhooks undelivered, {unreversed} reversals due"]


def print_stats(stats) -> None:
    for key in sorted(stats):
        if not key.endswith("samples") and key not in ("5xx", "unanswered"):
            print(f"  {key:<32} {stats[key]}")
    for key in ("5xx samples", "http error samples"):
        for sample in stats.get(key, [])[:5]:
            print(f"  {key[:-8]}: {sample}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--shops", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--settle-s", type=float, default=120)
    parser.add_argument("--db-url", default=os.environ.get("WALLET_CHAOS_DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("WALLET_CHAOS_REDIS_URL", ""))
    parser.add_argument("--infra-faults", action="store_true",
                        help="on a PostgreSQL and Redis of the run's own, crash and restart "
                             "them, kill backends mid-transaction, take the webhook app down")
    args = parser.parse_args(argv)
    print(f"chaos run: seed {args.seed}, {args.ops} operations, {args.users} users, "
          f"{args.shops} shops, {args.clients} clients"
          + (", infrastructure faults" if args.infra_faults else ""))
    print(HASHING)
    return verdict("chaos", run(args))


def verdict(name: str, problems: list[str]) -> int:
    """Print the run's problems and its last, machine-readable line; the exit status."""
    if problems:
        for problem in problems[:20]:
            print(f"  PROBLEM: {problem}")
        print(f"{name}: FAILED {problems[0]}")
        return 1
    print(f"{name}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
