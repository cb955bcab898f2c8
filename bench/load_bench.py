"""Load benchmarks that print figures (not timed tests).

    python bench/load_bench.py p2p      [--clients 6] [--processes 2] [--threads 3] [--seconds 20]
                                        [--client wrk|python]
    python bench/load_bench.py api-p2p  [--clients 6] [--processes 2] [--threads 3] [--seconds 20]
                                        [--rate-limit-backend redis|memory]
    python bench/load_bench.py hot-shop [--payers 100] [--shards 1]
    python bench/load_bench.py pipeline [--withdrawals 1000] [--users 100] [--workers 8]
                                        [--latency-ms 200] [--worker-type process|thread]

All run against PostgreSQL (``--db-url``, default the local ``test`` database in
a schema of their own) with the apps served by waitress on loopback (p2p: from
``--processes`` processes sharing one port, see bench/serve_app.py).

``api-p2p`` drives the same transfers through the JSON API (``POST
/v1/transfers``: a bearer token per connection, a fresh ``Idempotency-Key`` per
request, made in wrk's Lua script) and then, in the same run and on the same
database, through the HTML form (``p2p``'s measurement), and compares them.
``p2p`` and ``api-p2p`` end with machine-readable lines (``name=value``), the
last ``api_vs_form_req_per_s=<ratio>``.

Hashing is production's (printed at the start of each run): PINs keyed HMAC
(wallet.identity.pin_hashes) under a random bench key, passwords bcrypt at
production.ini's ``wallet.bcrypt_rounds`` (checked once per client, at sign-in).
"""
from __future__ import annotations

import argparse
import collections
import configparser
import contextlib
import datetime as dt
import http.cookiejar
import json
import re
import secrets
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import huey_tasks  # noqa: E402
import ledgerlib  # noqa: E402
from fake_bank.models import ApiCall  # noqa: E402
from tests.wallet_helpers import (  # noqa: E402
    deposit_service,
    pins_service,
    withdrawal_service,
)
from wallet.core.models import IdempotencyRecord, Merchant, Transaction, User  # noqa: E402
from wallet.db import WalletSession, get_engine  # noqa: E402
from wallet.identity.accounts import AccountService  # noqa: E402
from wallet.identity.kyc import ApproveAllVerifier, KycDetails, KycService  # noqa: E402
from wallet.identity.pan_vault import PanKeys, PanVault  # noqa: E402
from wallet.identity.pin_hashes import parse_pin_keys  # noqa: E402
from wallet.identity.pins import PinPolicy, Pins  # noqa: E402
from wallet.migrations import upgrade_url  # noqa: E402
from wallet.money import shop_shards  # noqa: E402
from wallet.seed import demo_pan  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-pass-123"
PIN = "1357"  # every bench user's wallet PIN (also in the wrk script's body)


def production_bcrypt_rounds() -> int:
    """production.ini's ``wallet.bcrypt_rounds``: the bench hashes passwords as production does."""
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "production.ini")
    return int(ini["DEFAULT"]["wallet.bcrypt_rounds"])


BCRYPT_ROUNDS = production_bcrypt_rounds()
#: The bench's PIN key (random per run, as production's is secret): PINs are
#: hashed and checked as production does (keyed HMAC, wallet.identity.pin_hashes).
PIN_KEYS = f"bench:{secrets.token_urlsafe(32)}"
PIN_POLICY = PinPolicy(keys=parse_pin_keys(PIN_KEYS, "bench", production=True))
HASHING = (f"hashing as production: PINs keyed HMAC-SHA-256, passwords bcrypt cost "
           f"{BCRYPT_ROUNDS} (checked once per client, at sign-in)")


def fresh_database(base_url: str, schema: str) -> str:
    engine = sa.create_engine(base_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    url = f"{base_url}?options=-csearch_path%3D{schema}"
    upgrade_url(url)
    return url


#: PAN keys for the bench's full-KYC wallets (wallet.identity.pan_vault).
BENCH_PAN_SETTINGS = {"wallet.pan_keys": "b1:bench-pan-key-" + "p" * 24 + "0123456789",
                      "wallet.pan_key_id": "b1",
                      "wallet.pan_hmac_key": "bench-pan-fingerprint-" + "f" * 20 + "abcdefgh"}

BENCH_PAN_VAULT = PanVault(PanKeys.from_settings(BENCH_PAN_SETTINGS))


def settings_for(url: str, workdir: Path, **extra) -> dict:
    return {
        "sqlalchemy.url": url, "sqlalchemy.pool_size": "20", "wallet.environment": "bench",
        "wallet.session_secret": "bench-session-secret-" + "b" * 32,
        "wallet.bcrypt_rounds": str(BCRYPT_ROUNDS), "wallet.pin_keys": PIN_KEYS,
        "wallet.pin_key_id": "bench",
        "retry.attempts": "5", "banks.enabled": "hdfc", "banks.hdfc.name": "HDFC Bank",
        "banks.hdfc.netbanking_url": "http://127.0.0.1:9/n", "banks.hdfc.api_url": "http://127.0.0.1:9/a",
        "banks.hdfc.api_key": "bench-api-key-" + "k" * 20,
        "banks.hdfc.webhook_secrets": "bench-webhook-secret-" + "s" * 20,
        "banks.hdfc.allowed_networks": "127.0.0.0/8", "huey.backend": "memory",
        "huey.immediate": "false", **BENCH_PAN_SETTINGS, **extra}


@contextlib.contextmanager
def serving_process(settings: dict, workdir: Path, threads: int, app: str = "user",
                    processes: int = 1):
    """An app served by waitress in ``processes`` processes of its own sharing
    one port (SO_REUSEPORT: the kernel spreads connections, as a load balancer
    in front of several app processes would). A client in the server's process
    would fight it for the GIL and measure that instead."""
    import socket
    import subprocess

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lines = [f"[app:{app}]", f"use = egg:wallet#{app}"]
    lines += [f"{k} = {str(v).replace('%', '%%')}" for k, v in settings.items()]
    ini = workdir / f"bench-{app}.ini"
    ini.write_text("\n".join(lines) + "\n")
    log = (workdir / f"{app}.log").open("w")
    # (An app with a task queue points huey_tasks at its own settings.)
    servers = [subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("serve_app.py")), str(ini), app, str(port),
         str(threads)],
        stdout=log, stderr=log)
        for _ in range(processes)]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # (a busy shared machine starts them slowly)
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
            break
        except OSError as exc:
            if time.monotonic() > deadline or any(s.poll() is not None for s in servers):
                raise RuntimeError((workdir / f"{app}.log").read_text()[-2000:]) from exc
            time.sleep(0.1)
    time.sleep(0.5 * (processes - 1))  # the others are a moment behind
    SERVER_PIDS[base] = [server.pid for server in servers]
    try:
        yield base
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        log.close()


SERVER_PIDS: dict[str, list[int]] = {}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes so far (Linux /proc): per-request CPU
    is a figure that other load on the machine does not distort much."""
    import os

    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def make_people(engine, banks, phones: list[str], deposit_paise: int, shop: bool = False):
    with WalletSession(engine) as session, session.begin():
        accounts = AccountService(session, bcrypt_rounds=BCRYPT_ROUNDS)
        for i, phone in enumerate(phones):
            user = accounts.signup(phone, f"Bench {i}", PASSWORD)
            # Full KYC (bench wallets hold more than a minimum-KYC one may) and a PIN.
            KycService(session, ApproveAllVerifier(), BENCH_PAN_VAULT).record(
                user, KycDetails(user.name, demo_pan(int(phone[-10:])), dt.date(1990, 1, 1)),
                "bench")
            Pins(session, policy=PIN_POLICY).set_first(user, PIN, PIN)
            deposit_service(session, banks).record_completed(user, "hdfc", deposit_paise,
                                                            f"bench-deposit-{i:010d}")
        if shop:
            accounts.signup_merchant("hot-shop", "Hot Shop", "hot@shop.in", PASSWORD)


class Client:
    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str, phone: str):
        self.base, self.phone = base, phone
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), self._NoRedirect())
        page = self.opener.open(f"{base}/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        self.post("/login", {"csrf_token": token, "phone": phone, "password": PASSWORD})
        page = self.opener.open(f"{base}/send").read().decode()
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def post(self, path: str, form: dict) -> int:
        data = urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(f"{self.base}{path}", data=data, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def report(name: str, latencies_s: list[float], statuses: collections.Counter, elapsed_s: float):
    ok = statuses.get(303, 0)
    ordered = sorted(latencies_s)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    print(f"{name}: {len(ordered)} requests in {elapsed_s:.1f} s = "
          f"{len(ordered) / elapsed_s:.0f} req/s; "
          f"p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms; moved money {ok}, "
          f"other answers {dict((k, v) for k, v in statuses.items() if k != 303)}")


WRK_SCRIPT = """
-- One wrk thread (one keep-alive connection) per user: its own session cookie
-- and CSRF token; each request a fresh form key, to the next friend in turn.
local users = { %s }
local next_id = 0
function setup(thread) thread:set("id", next_id); next_id = next_id + 1 end
function init(args) me = users[(id %% #users) + 1]; n = 0 end
function request()
  n = n + 1
  local friend = me.friends[(n %% #me.friends) + 1]
  local body = "csrf_token=" .. me.csrf .. "&request_key=wrk" .. id .. "x"
    .. string.format("%%016d", n) .. "&phone=" .. friend .. "&amount=1.00&pin=1357"
  return wrk.format("POST", "/send", {["Cookie"] = me.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"""


API_WRK_SCRIPT = """
-- One wrk thread (one keep-alive connection) per user: its own bearer token;
-- each request a transfer of Rs 1 to the next friend in turn, under a fresh
-- Idempotency-Key: a random prefix per thread and run, and a counter.
local users = { %s }
local next_id = 0
function setup(thread) thread:set("id", next_id); next_id = next_id + 1 end
function init(args)
  me = users[(id %% #users) + 1]; n = 0
  math.randomseed(os.time() + 7919 * id)
  prefix = string.format("wrk%%d-%%08x%%08x-", id, math.random(0, 0x7fffffff),
                         math.random(0, 0x7fffffff))
end
function request()
  n = n + 1
  local friend = me.friends[(n %% #me.friends) + 1]
  local body = '{"to_phone":"' .. friend .. '","amount_paise":100,"pin":"1357"}'
  return wrk.format("POST", "/v1/transfers", {["Authorization"] = "Bearer " .. me.token,
    ["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. n}, body)
end
"""


def friends_of(phones: list[str], phone: str, i: int) -> list[str]:
    """Whom user ``i`` pays, in turn (the same in every mode)."""
    return [p for p in phones if p != phone][i % 7::7][:8]


def lua_list(values: list[str]) -> str:
    return ",".join(json.dumps(v) for v in values)


def form_wrk_script(clients: list["Client"], phones: list[str]) -> str:
    users = []
    for i, client in enumerate(clients):
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies)
        friends = [p[3:] for p in friends_of(phones, client.phone, i)]
        users.append("{cookie=%s, csrf=%s, friends={%s}}" % (
            json.dumps(cookie), json.dumps(client.csrf), lua_list(friends)))
    return WRK_SCRIPT % ", ".join(users)


def api_wrk_script(tokens: dict[str, str], phones: list[str]) -> str:
    users = ["{token=%s, friends={%s}}" % (json.dumps(token),
                                           lua_list(friends_of(phones, phone, i)))
             for i, (phone, token) in enumerate(tokens.items())]
    return API_WRK_SCRIPT % ", ".join(users)


def need_wrk(alternative: str = "") -> None:
    import shutil

    if shutil.which("wrk") is None:
        raise SystemExit(f"wrk not found: apt-get install wrk{alternative}")


def run_wrk(base: str, script_text: str, connections: int, seconds: float, workdir: Path,
            name: str = "p2p") -> str:
    """Drive the server with wrk (C, keep-alive connections, one per thread): a
    Python load generator on this 2-core machine would take the CPU the server
    needs."""
    import subprocess

    need_wrk(" (or use --client python)")
    script = workdir / f"{name}.lua"
    script.write_text(script_text)
    n = connections
    return subprocess.run(
        # --timeout: a slow answer is measured, not dropped as a socket error.
        ["wrk", "-t", str(n), "-c", str(n), "-d", f"{seconds:.0f}s", "--timeout", "30s",
         "--latency", "-s", str(script), base], check=True, capture_output=True,
        text=True).stdout


_WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class LoadFigures:
    """One path's figures from a wrk run and the server's side of it."""

    name: str
    requests: int
    req_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers and socket errors
    transfers: int  # transactions recorded meanwhile
    cpu_ms_per_transfer: float

    @classmethod
    def from_wrk(cls, name: str, output: str, transfers: int, server_cpu_s: float
                 ) -> "LoadFigures":
        def percentile(q: int) -> float:
            found = re.search(rf"^\s*{q}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
            return float(found.group(1)) * _WRK_UNITS_MS[found.group(2)] if found else float("nan")

        requests = re.search(r"(\d+) requests in", output)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                            r"timeout (\d+)", output)
        errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
            sum(int(n) for n in sockets.groups()) if sockets else 0)
        return cls(name, int(requests.group(1)) if requests else 0,
                   float(rate.group(1)) if rate else float("nan"), percentile(50),
                   percentile(99), errors, transfers, server_cpu_s * 1000 / max(transfers, 1))

    def summary(self) -> str:
        return (f"{self.name}: {self.req_per_s:.0f} req/s, p50 {self.p50_ms:.1f} ms, "
                f"p99 {self.p99_ms:.1f} ms, server CPU {self.cpu_ms_per_transfer:.2f} ms per "
                f"transfer = {self.per_core_per_s:.0f} payments/s per core "
                f"({self.transfers} transfers, {self.errors} errors)")

    @property
    def per_core_per_s(self) -> float:
        """Payments one core of the app servers makes per second (their CPU per payment)."""
        return 1000 / self.cpu_ms_per_transfer if self.cpu_ms_per_transfer else float("nan")

    def machine_lines(self, prefix: str) -> list[str]:
        return [f"{prefix}_req_per_s={self.req_per_s:.1f}", f"{prefix}_p50_ms={self.p50_ms:.2f}",
                f"{prefix}_p99_ms={self.p99_ms:.2f}",
                f"{prefix}_cpu_ms_per_transfer={self.cpu_ms_per_transfer:.3f}",
                f"{prefix}_payments_per_core_s={self.per_core_per_s:.1f}",
                f"{prefix}_errors={self.errors}"]


def count_rows(engine, model) -> int:
    with WalletSession(engine) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def measure_wrk(name: str, base: str, engine, script_text: str, connections: int,
                seconds: float, workdir: Path) -> tuple[LoadFigures, str]:
    """Run wrk against ``base``; the figures, and wrk's own output."""
    before = count_rows(engine, Transaction)
    cpu_before = cpu_seconds(SERVER_PIDS[base])
    output = run_wrk(base, script_text, connections, seconds, workdir, name=name.split()[0])
    server_cpu_s = cpu_seconds(SERVER_PIDS[base]) - cpu_before
    moved = count_rows(engine, Transaction) - before
    return LoadFigures.from_wrk(name, output, moved, server_cpu_s), output


def print_wrk(name: str, output: str) -> None:
    print(f"{name}: wrk says")
    print("\n".join("    " + line for line in output.strip().splitlines()))


def p2p_people(args, schema: str) -> tuple[Path, dict, sa.Engine, list[str]]:
    """A fresh database with ``2 x --clients`` users with money (each client pays
    others among them); its settings and an engine on it."""
    workdir = Path(tempfile.mkdtemp(prefix="load-"))
    url = fresh_database(args.db_url, schema)
    settings = settings_for(url, workdir)
    engine = get_engine(settings)
    from wallet.banking.banks import load_banks

    phones = [f"+9180000{i:05d}" for i in range(args.clients * 2)]
    make_people(engine, load_banks(settings), phones, 50_000_00)
    return workdir, settings, engine, phones


def p2p_name(args, path: str) -> str:
    return (f"{path} ({args.clients} clients via {args.client}, {args.processes} server "
            f"process(es) x {args.threads} threads)")


def form_p2p(args, workdir: Path, settings: dict, engine, phones: list[str]
             ) -> tuple[LoadFigures, str]:
    """Transfers through the user app's HTML form (POST /send) driven by wrk."""
    with serving_process(settings, workdir, threads=args.threads,
                         processes=args.processes) as base:
        clients = [Client(base, phone) for phone in phones[:args.clients]]
        return measure_wrk(p2p_name(args, "p2p"), base, engine,
                           form_wrk_script(clients, phones), len(clients), args.seconds,
                           workdir)


def bench_p2p(args) -> None:
    workdir, settings, engine, phones = p2p_people(args, "load_p2p")
    if args.client == "wrk":
        form, output = form_p2p(args, workdir, settings, engine, phones)
        print_wrk(form.name, output)
        print(form.summary())
        with WalletSession(engine) as session:
            print(ledgerlib.verify(session).summary().splitlines()[0])
        engine.dispose()
        print("\n".join(form.machine_lines("form_p2p")))
        return
    latencies, statuses = [], collections.Counter()
    lock = threading.Lock()
    with serving_process(settings, workdir, threads=args.threads,
                         processes=args.processes) as base:
        clients = [Client(base, phone) for phone in phones[:args.clients]]
        before = count_rows(engine, Transaction)
        cpu_before = cpu_seconds(SERVER_PIDS[base])
        # The python client: one thread per user, a fresh form key per request.
        deadline = time.monotonic() + args.seconds

        def run(i: int) -> None:
            client, k = clients[i], 0
            while time.monotonic() < deadline:
                friend = phones[(i + 1 + k) % len(phones)]
                if friend == phones[i]:
                    friend = phones[-1]
                k += 1
                started = time.perf_counter()
                status = client.post("/send", {
                    "csrf_token": client.csrf, "request_key": secrets.token_urlsafe(16),
                    "phone": friend[3:], "amount": "1.00", "pin": PIN})
                with lock:
                    latencies.append(time.perf_counter() - started)
                    statuses[status] += 1

        started = time.monotonic()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(run, range(args.clients)))
        elapsed = time.monotonic() - started
        server_cpu_s = cpu_seconds(SERVER_PIDS[base]) - cpu_before
    report(p2p_name(args, "p2p"), latencies, statuses, elapsed)
    with WalletSession(engine) as session:
        moved = session.scalar(sa.select(sa.func.count()).select_from(Transaction)) - before
        print(f"transfers recorded: {moved}; "
              f"server CPU {server_cpu_s * 1000 / max(moved, 1):.2f} ms per transfer;",
              ledgerlib.verify(session).summary().splitlines()[0])
    engine.dispose()


def sign_in(base: str, phone: str) -> str:
    """A bearer token for ``phone`` from the API (POST /v1/tokens)."""
    body = json.dumps({"phone": phone, "password": PASSWORD, "device_name": "load bench"})
    request = urllib.request.Request(f"{base}/v1/tokens", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def bench_api_p2p(args) -> None:
    """The API's transfers, then the form's, on one database in one run."""
    need_wrk()
    args.client = "wrk"
    workdir, settings, engine, phones = p2p_people(args, "load_api_p2p")
    api_settings = {
        **settings, "api.rate_limit_backend": args.rate_limit_backend,
        "api.rate_limit_redis_url": args.redis_url,
        # Counted as in production (a Redis round trip per request with redis),
        # but never reached: the bench measures the transfers, not the limits.
        "api.money_requests_per_minute_per_token": "1000000000",
        "api.money_requests_per_minute_per_ip": "1000000000",
        "api.money_requests_per_minute_per_user": "1000000000"}
    keys_before = count_rows(engine, IdempotencyRecord)
    with serving_process(api_settings, workdir, threads=args.threads, app="api",
                         processes=args.processes) as base:
        tokens = {phone: sign_in(base, phone) for phone in phones[:args.clients]}
        api, api_output = measure_wrk(
            p2p_name(args, f"api-p2p (rate limits: {args.rate_limit_backend})"), base, engine,
            api_wrk_script(tokens, phones), len(tokens), args.seconds, workdir)
    stored_keys = count_rows(engine, IdempotencyRecord) - keys_before
    form, form_output = form_p2p(args, workdir, settings, engine, phones)
    print_wrk(api.name, api_output)
    print_wrk(form.name, form_output)
    print(f"answers stored with their Idempotency-Key: {stored_keys} "
          f"(API transfers: {api.transfers})")
    print(api.summary())
    print(form.summary())
    with WalletSession(engine) as session:
        print(ledgerlib.verify(session).summary().splitlines()[0])
    engine.dispose()
    print("\n".join(api.machine_lines("api_p2p") + form.machine_lines("form_p2p")))
    print(f"api_vs_form_cpu_per_transfer={api.cpu_ms_per_transfer / form.cpu_ms_per_transfer:.2f}")
    print(f"api_vs_form_req_per_s={api.req_per_s / form.req_per_s:.2f}")


def deadlock_count(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT deadlocks FROM pg_stat_database "
                                    "WHERE datname = current_database()").scalar()


def bench_hot_shop(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="load-"))
    url = fresh_database(args.db_url, "load_shop")
    settings = settings_for(url, workdir)
    engine = get_engine(settings)
    from wallet.banking.banks import load_banks

    phones = [f"+9181000{i:05d}" for i in range(args.payers)]
    make_people(engine, load_banks(settings), phones, 10_000_00, shop=True)
    with Session(engine) as session, session.begin():  # its receiving shards (issue #25)
        shop_shards.set_receiving_shards(ledgerlib.Ledger(session),
                                         session.get_one(Merchant, 1), args.shards)
    latencies, statuses = [], collections.Counter()
    deadlocks_before = deadlock_count(engine)
    with serving_process(settings, workdir, threads=args.threads) as base:
        clients = [Client(base, phone) for phone in phones]
        barrier = threading.Barrier(len(clients))

        def pay(client: Client) -> None:
            barrier.wait()  # all at once
            for _ in range(args.rounds):
                started = time.perf_counter()
                status = client.post("/pay/hot-shop", {
                    "csrf_token": client.csrf, "request_key": secrets.token_urlsafe(16),
                    "amount": "10.00", "pin": PIN})
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1

        started = time.monotonic()
        with ThreadPoolExecutor(len(clients)) as pool:
            list(pool.map(pay, clients))
        elapsed = time.monotonic() - started
    report(f"hot shop ({args.payers} payers x {args.rounds}, one merchant, "
           f"{args.shards} receiving shards)", latencies, statuses, elapsed)
    with WalletSession(engine) as session:
        shop = shop_shards.balance(ledgerlib.Ledger(session),
                                   session.get_one(Merchant, 1)).posted_paise
        deadlocks = deadlock_count(engine) - deadlocks_before
        print(f"deadlocks reported by PostgreSQL meanwhile: {deadlocks}")
        print(f"shop balance {shop} paise (expected {statuses.get(303, 0) * 1000});",
              ledgerlib.verify(session).summary().splitlines()[0])
    engine.dispose()


def bench_pipeline(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="load-"))
    url = fresh_database(args.db_url, "load_pipeline")
    bank_settings = {"banks.enabled": "hdfc", "banks.hdfc.api_key": "bench-api-key-" + "k" * 20,
                     "banks.hdfc.webhook_secrets": "bench-webhook-secret-" + "s" * 20,
                     "fake_bank.sqlalchemy.url": f"sqlite:///{workdir / 'bank.sqlite'}",
                     "fake_bank.sender": "off", "fake_bank.webhook_url": "http://127.0.0.1:9/{bank}",
                     "fake_bank.latency_ms": str(args.latency_ms)}
    with serving_process(bank_settings, workdir, args.workers + 8, app="fake_bank") as bank_url:
        settings = settings_for(url, workdir, **{
            "banks.hdfc.api_url": f"{bank_url}/hdfc/api", "huey.backend": "redis",
            "huey.url": args.redis_url, "wallet.bank_timeout_s": "10"})
        engine = get_engine(settings)
        from wallet.banking.banks import load_banks

        banks = load_banks(settings)
        phones = [f"+9182000{i:05d}" for i in range(args.users)]
        make_people(engine, banks, phones, 10_000_00)
        huey_tasks.configure(settings)
        huey_tasks.huey.flush()
        per_user = args.withdrawals // args.users
        ids = []
        with WalletSession(engine) as session, session.begin():
            service = withdrawal_service(  # the bench's PIN keys, not the tests'
                session, banks, pins=pins_service(session, pin_policy=PIN_POLICY))
            for user in session.scalars(sa.select(User)):
                for k in range(per_user):
                    ids.append(service.request(user, "hdfc", "50100012345678", "HDFC0001234",
                                               1_00, f"bench-withdraw-{user.id}-{k:06d}",
                                               pin=PIN).id)
        consumer = huey_tasks.huey.create_consumer(
            workers=args.workers, worker_type=args.worker_type, periodic=False,
            check_worker_health=False)
        started = time.monotonic()
        for user_id in range(1, args.users + 1):
            huey_tasks.withdrawals.process_payouts(f"user:{user_id}")
        consumer.start()
        while True:
            with WalletSession(engine) as session:
                open_ = session.scalar(sa.select(sa.func.count()).select_from(Transaction).where(
                    Transaction.kind == "withdrawal",
                    Transaction.status.in_(("queued", "sending"))))
            if open_ == 0:
                break
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        consumer.stop(graceful=True)
    bank_engine = sa.create_engine(bank_settings["fake_bank.sqlalchemy.url"])
    with Session(bank_engine) as bank_db:
        calls = bank_db.scalars(sa.select(ApiCall).where(ApiCall.kind == "payout")).all()
    bank_engine.dispose()
    owner_of = {f"wd_{i}": i for i in ids}
    with WalletSession(engine) as session:
        owner_of = dict(session.execute(sa.select(Transaction.id, Transaction.payer_user_id)
                                        .where(Transaction.id.in_(ids))).all())
        completed = session.scalar(sa.select(sa.func.count()).select_from(Transaction).where(
            Transaction.kind == "withdrawal", Transaction.status == "completed"))
    by_user = collections.defaultdict(list)
    for call in calls:
        by_user[owner_of.get(int(call.reference[3:]))].append(call)
    overlaps = sum(1 for cs in by_user.values()
                   for a, b in zip(sorted(cs, key=lambda c: c.started_at),
                                   sorted(cs, key=lambda c: c.started_at)[1:], strict=False)
                   if b.started_at < a.decided_at)
    rate = len(ids) / elapsed
    ideal = args.workers / (args.latency_ms / 1000)
    print(f"pipeline: {len(ids)} withdrawals ({completed} completed) over {args.users} users, "
          f"{args.workers} workers, bank latency {args.latency_ms} ms: {elapsed:.1f} s = "
          f"{rate:.1f}/s = {rate / ideal:.0%} of the ideal {ideal:.0f}/s; "
          f"overlapping payouts for one user: {overlaps}")
    engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db-url", default=PG)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    sub = parser.add_subparsers(dest="bench", required=True)
    p2p = sub.add_parser("p2p")
    # Defaults: the best of a sweep on a 2-core machine (see README); more
    # threads per process mostly add GIL contention.
    p2p.add_argument("--clients", type=int, default=6)
    p2p.add_argument("--threads", type=int, default=3)
    p2p.add_argument("--seconds", type=float, default=20)
    p2p.add_argument("--client", choices=("wrk", "python"), default="wrk")
    p2p.add_argument("--processes", type=int, default=2)
    api_p2p = sub.add_parser("api-p2p", help="p2p through the JSON API, then the form")
    api_p2p.add_argument("--clients", type=int, default=6)
    api_p2p.add_argument("--threads", type=int, default=3)
    api_p2p.add_argument("--seconds", type=float, default=20)
    api_p2p.add_argument("--processes", type=int, default=2)
    api_p2p.add_argument("--rate-limit-backend", choices=("redis", "memory"), default="redis",
                         help="where the API counts its rate limits (production: redis, "
                              "at --redis-url)")
    shop = sub.add_parser("hot-shop")
    shop.add_argument("--payers", type=int, default=100)
    shop.add_argument("--rounds", type=int, default=3)
    shop.add_argument("--threads", type=int, default=16)
    shop.add_argument("--shards", type=int, default=1,
                      help="the shop's receiving shards (1: its single wallet account)")
    pipeline = sub.add_parser("pipeline")
    pipeline.add_argument("--withdrawals", type=int, default=1000)
    pipeline.add_argument("--users", type=int, default=100)
    pipeline.add_argument("--workers", type=int, default=8)
    pipeline.add_argument("--latency-ms", type=int, default=200)
    pipeline.add_argument("--worker-type", choices=("thread", "process"), default="process")
    args = parser.parse_args(argv)
    print(HASHING)
    {"p2p": bench_p2p, "api-p2p": bench_api_p2p, "hot-shop": bench_hot_shop,
     "pipeline": bench_pipeline}[args.bench](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
