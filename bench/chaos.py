"""A seeded chaos run of the whole wallet (in the spirit of Jepsen's bank test).

    python bench/chaos.py --seed 7 --ops 2000 [--clients 8] [--db-url URL] [--redis-url URL]

Serves the user app, webhook app and fake bank over HTTP (waitress, loopback)
and runs Huey workers as a separate process. Many users drive deposits,
transfers, shop payments and withdrawals concurrently while the fake bank
misbehaves (latency, 503s, timeouts, lost replies, reversals; lost, duplicated
and delayed webhooks) and the worker process is killed and restarted mid-run.
Then the bank calms down, the sweepers and an operator settle what is left, and
the run checks that money is conserved across our ledger and the bank's books.
Its last line is ``chaos: ok`` or ``chaos: FAILED <what>``; so is its exit status.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import http.cookiejar
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import waitress  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import fake_bank  # noqa: E402
import huey_tasks  # noqa: E402
import ledgerlib  # noqa: E402
import webapp  # noqa: E402
import webhook_app  # noqa: E402
from fake_bank.models import ApiCall, Payment, Payout  # noqa: E402
from wallet.accounts import AccountService  # noqa: E402
from wallet.bank_client import BankClient  # noqa: E402
from wallet.banks import load_banks  # noqa: E402
from wallet.deposits import sweep_stuck_deposits  # noqa: E402
from wallet.kyc import ApproveAllVerifier, KycDetails, KycService  # noqa: E402
from wallet.migrations import upgrade_url  # noqa: E402
from wallet.models import Transaction, Withdrawal, get_engine  # noqa: E402
from wallet.operations import cross_check  # noqa: E402
from wallet.pins import PinPolicy, Pins  # noqa: E402
from wallet.settlement import position as settlement_position  # noqa: E402
from wallet.withdrawals import WithdrawalService  # noqa: E402

PIN = "1357"
PASSWORD = "chaos-pass-123"


class Client:
    """One person's browser: cookies, forms, no redirects followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, stats):
        self.stats = stats
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect())

    def request(self, url, form=None, headers=None):
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                status, location, body = (response.status, response.headers.get("Location"),
                                          response.read())
        except urllib.error.HTTPError as error:
            status, location, body = error.code, error.headers.get("Location"), error.read()
        except OSError as error:
            self.stats["http errors"] += 1
            self.stats.setdefault("http error samples", []).append(f"{url}: {error}")
            return 0, None, ""
        self.stats[f"http {status // 100}xx"] += 1
        if status >= 500 and "/netbanking/" not in url:  # the bank's 503s are on purpose
            self.stats.setdefault("5xx samples", []).append(f"{status} {url}")
        return status, location, body.decode("utf-8", "replace")

    def form(self, url):
        _, _, page = self.request(url)
        return dict(re.findall(r'name="(csrf_token|request_key)" value="([^"]+)"', page))


@contextlib.contextmanager
def serving(app, threads=8):
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads,
                                    asyncore_loop_timeout=0.1)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.trigger.pull_trigger(server.close)
        server.task_dispatcher.shutdown()
        thread.join(timeout=5)


def write_ini(path: Path, settings: dict) -> Path:
    lines = ["[app:user]", "use = egg:wallet#user"]
    lines += [f"{k} = {str(v).replace('%', '%%')}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_worker(ini: Path, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "huey.bin.huey_consumer", "huey_tasks.huey", "-w", "4", "-n"],
        env={**os.environ, "WALLET_INI": str(ini)}, stdout=log, stderr=subprocess.STDOUT)


def run(args) -> list[str]:
    rng = random.Random(args.seed)
    stats: collections.Counter = collections.Counter()
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    db_url = args.db_url or f"sqlite:///{workdir / 'wallet.sqlite'}"
    upgrade_url(db_url)
    base = {
        "sqlalchemy.url": db_url, "wallet.environment": "chaos",
        "wallet.session_secret": "chaos-session-secret-" + "c" * 32, "wallet.bcrypt_rounds": "4",
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
        "wallet.user_app_url": "http://127.0.0.1",
    }
    if args.redis_url:
        base.update({"huey.backend": "redis", "huey.url": args.redis_url})
    else:
        base.update({"huey.backend": "sqlite", "huey.path": str(workdir / "huey.sqlite")})
    bank_settings = {**base, "fake_bank.sqlalchemy.url": f"sqlite:///{workdir / 'bank.sqlite'}",
                     "fake_bank.sender": "thread", "fake_bank.seed": str(args.seed),
                     "fake_bank.allow_overrides": "true", "fake_bank.webhook_url": "set below",
                     # Customers who never run out: every decline is the chaos's doing.
                     "fake_bank.customer_balance_paise": str(10**13)}
    problems: list[str] = []
    with contextlib.ExitStack() as stack:
        # The webhook app first: the bank needs its URL.
        webhook_wsgi = webhook_app.main({}, **base)
        webhook_url = stack.enter_context(serving(webhook_wsgi))
        bank_wsgi = fake_bank.main({}, **{
            **bank_settings, "fake_bank.webhook_url": f"{webhook_url}/webhooks/{{bank}}"})
        stack.callback(bank_wsgi.registry["fb.sender"].stop)
        bank_url = stack.enter_context(serving(bank_wsgi, threads=16))
        settings = {**base, "banks.hdfc.netbanking_url": f"{bank_url}/hdfc/netbanking",
                    "banks.hdfc.api_url": f"{bank_url}/hdfc/api"}
        user_wsgi = webapp.main({}, **settings)
        user_url = stack.enter_context(serving(user_wsgi, threads=16))
        huey_tasks.configure(settings)
        ini = write_ini(workdir / "worker.ini", settings)
        worker_log = (workdir / "worker.log").open("w")
        worker = start_worker(ini, worker_log)
        behaviour = bank_wsgi.registry["fb.behaviour"]
        engine = get_engine(settings)

        # People: users with money in the bank, and shops.
        users = [f"+9170000{i:05d}" for i in range(args.users)]
        with Session(engine) as session, session.begin():
            accounts = AccountService(session, bcrypt_rounds=4)
            for phone in users:  # each full KYC, with a wallet PIN (asked before payments)
                user = accounts.signup(phone, f"Chaos {phone[-4:]}", PASSWORD)
                KycService(session, ApproveAllVerifier()).record(
                    user, KycDetails(user.name, "CHAOS1234K", dt.date(1990, 1, 1)), "chaos")
                Pins(session, PinPolicy(bcrypt_rounds=4)).set_first(user, PIN, PIN)
            shops = [accounts.signup_merchant(f"shop-{i}", f"Shop {i}", f"shop{i}@chaos.in",
                                              PASSWORD).handle for i in range(args.shops)]
        clients = {phone: Client(stats) for phone in users}
        for phone, client in clients.items():
            fields = client.form(f"{user_url}/login")
            client.request(f"{user_url}/login", {**fields, "phone": phone, "password": PASSWORD})

        behaviour.update({"latency_ms": 20, "failure_rate": 0.1, "timeout_rate": 0.05,
                          "timeout_s": 1.5, "reply_lost_rate": 0.1, "reverse_rate": 0.05,
                          "reverse_after_s": 1.0})
        # Per-user locks keep one person's clicks in order (a person has one phone).
        locks = {phone: threading.Lock() for phone in users}
        plan = [(rng.choice(users), rng.random(), rng.random(), rng.randint(1, 10**6))
                for _ in range(args.ops)]

        def operation(step):
            phone, pick, knob, n = step
            client, r = clients[phone], random.Random(n)
            with locks[phone]:
                if pick < 0.25:
                    deposit(client, r, knob)
                elif pick < 0.55:
                    other = r.choice([u for u in users if u != phone])
                    send(client, "/send", {
                        "phone": other[3:],
                        "amount": f"{r.randint(1, 300)}.{r.randint(0, 99):02d}",
                        "note": "chaos"})
                elif pick < 0.8:
                    send(client, f"/pay/{r.choice(shops)}",
                         {"amount": f"{r.randint(1, 200)}", "note": "chai"})
                else:
                    account = r.choice(["50100012345678", "50100012349999", "00000012345678"])
                    send(client, "/withdraw", {"bank": "hdfc", "account_number": account,
                                               "ifsc": "HDFC0001234",
                                               "amount": f"{r.randint(1, 400)}"})
            stats["operations"] += 1

        def send(client, path, form):  # the form and its confirm step's PIN at once
            fields = client.form(f"{user_url}{path}")
            status, _, _ = client.request(f"{user_url}{path}", {**fields, **form, "pin": PIN})
            stats[f"{path.split('/')[1]} {status}"] += 1

        def deposit(client, r, knob):
            fields = client.form(f"{user_url}/add-money")
            status, location, _ = client.request(f"{user_url}/add-money", {
                **fields, "bank": "hdfc", "amount": f"{r.randint(100, 3000)}"})
            if status != 303 or not location:
                return
            _, _, page = client.request(location)
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

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            futures = [pool.submit(operation, step) for step in plan]
            kill_at = len(futures) // 2
            for i, future in enumerate(futures):
                future.result()
                if i == kill_at:  # a worker dies mid-run, wherever it is
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    stats["worker kills"] += 1
                    worker = start_worker(ini, worker_log)
        stats["seconds driving"] = round(time.monotonic() - started)

        # Calm: the bank behaves; sweepers and the recovery task finish the work.
        behaviour.update({"latency_ms": 0, "failure_rate": 0, "timeout_rate": 0,
                          "reply_lost_rate": 0, "reverse_rate": 0})
        banks = load_banks(settings)

        def run_in_transaction(fn):
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return fn(session)

        deadline = time.monotonic() + args.settle_s
        while time.monotonic() < deadline:
            sweep_stuck_deposits(run_in_transaction, banks, BankClient,
                                 older_than=dt.timedelta(0), expire_after=dt.timedelta(0))
            huey_tasks.withdrawals.resume_stalled_withdrawals.call_local()
            with Session(engine) as session:
                for tx_id in session.scalars(select(Transaction.id).where(
                        Transaction.kind == "withdrawal", Transaction.status == "needs_review")):
                    with Session(engine) as op, op.begin():  # what an operator would do
                        WithdrawalService(op, banks).operator_retry(tx_id)
                    stats["operator retries"] += 1
                open_work = session.scalar(select(func.count()).select_from(Transaction).where(
                    Transaction.status.in_(("pending", "queued", "sending", "needs_review"))))
                delivering = bank_wsgi.registry["fb.session_factory"]
            with delivering() as bank_db:
                undelivered = bank_db.scalar(select(func.count()).select_from(
                    fake_bank.models.Delivery).where(fake_bank.models.Delivery.delivered_at.is_(None),
                                                     fake_bank.models.Delivery.next_attempt_at.is_not(None)))
                unreversed = bank_db.scalar(select(func.count()).select_from(Payout).where(
                    Payout.status == "accepted", Payout.reverse_at.is_not(None)))
            if open_work == 0 and undelivered == 0 and unreversed == 0:
                break
            time.sleep(0.5)
        else:
            with Session(engine) as session:
                open_statuses = ("pending", "queued", "sending", "needs_review")
                still = session.execute(select(Transaction.kind, Transaction.status, Transaction.id)
                                        .where(Transaction.status.in_(open_statuses))).all()
            problems.append(f"work still open after {args.settle_s} s of calm: {still[:5]}, "
                            f"{undelivered} webhooks undelivered, {unreversed} reversals due")
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
        worker_log.close()
        problems += check(engine, bank_wsgi, stats)
        engine.dispose()
    for key in sorted(stats):
        if not key.endswith("samples"):
            print(f"  {key:<32} {stats[key]}")
    for key in ("5xx samples", "http error samples"):
        for sample in stats.get(key, [])[:5]:
            print(f"  {key[:-8]}: {sample}")
    return problems


def check(engine, bank_wsgi, stats) -> list[str]:
    problems = []
    with Session(engine) as session:
        report = ledgerlib.verify(session)
        if not report.ok:
            problems.append("ledger verify: " + "; ".join(report.problems[:3]))
        records = cross_check(session)
        if records:
            problems.append("records vs ledger: " + "; ".join(records[:3]))
        accounts = ledgerlib.schema.accounts
        negative = session.scalar(select(func.count()).select_from(accounts).where(
            accounts.c.allow_negative.is_(False),
            accounts.c.posted_paise - accounts.c.held_paise < 0))
        if negative:
            problems.append(f"{negative} wallets below zero")
        deposits = {tx.token: tx for tx in session.scalars(select(Transaction).where(
            Transaction.kind == "deposit"))}
        withdrawals = {f"wd_{tx.id}": tx for tx in session.scalars(select(Transaction).where(
            Transaction.kind == "withdrawal"))}
        owner_of = {f"wd_{wd.transaction_id}": wd.user_id or -wd.merchant_id
                    for wd in session.scalars(select(Withdrawal))}
        in_wallets = session.scalar(select(func.sum(accounts.c.posted_paise)).where(
            accounts.c.kind == "liability")) or 0
        # The settlement shards (an asset) hold what came in less what went out.
        settlement = settlement_position(session, "hdfc")
    with bank_wsgi.registry["fb.session_factory"]() as bank_db:
        payments = {p.reference: p for p in bank_db.scalars(select(Payment))}
        payouts = {p.reference: p for p in bank_db.scalars(select(Payout))}
        calls = bank_db.scalars(select(ApiCall).where(ApiCall.kind == "payout")
                                .order_by(ApiCall.started_at)).all()
    approved = {ref for ref, p in payments.items() if p.status == "approved"}
    credited = {token for token, tx in deposits.items() if tx.status == "success"}
    if credited != approved & deposits.keys():
        problems.append(f"deposits: {len(approved - credited)} approved but not credited, "
                        f"{len(credited - approved)} credited but not approved")
    for ref, tx in withdrawals.items():
        bank = payouts.get(ref)
        paid = bank is not None and bank.status in ("accepted", "reversed")
        if tx.status == "completed" and not (paid and bank.status == "accepted"):
            problems.append(
                f"{ref} completed but the bank says {bank.status if bank else 'nothing'}")
        if tx.status == "failed" and paid:
            problems.append(f"{ref} refunded although the bank paid it")
        if tx.status == "reversed" and not (bank and bank.status == "reversed"):
            problems.append(f"{ref} reversed but the bank did not reverse it")
        if tx.status not in ("completed", "failed", "reversed"):
            problems.append(f"{ref} left {tx.status}")
    # Money in == money out: what the bank took from customers, less what it paid out
    # (and kept), is exactly what our wallets hold.
    taken = sum(payments[r].amount_paise for r in approved)
    paid_out = sum(p.amount_paise for p in payouts.values() if p.status == "accepted")
    stats["money in wallets (paise)"] = in_wallets
    if not taken - paid_out == in_wallets == settlement:
        problems.append(f"conservation: bank took {taken}, paid out {paid_out}, "
                        f"wallets hold {in_wallets}, settlement shows {settlement}")
    # One payout at a time per owner, as the bank saw the calls.
    by_owner = collections.defaultdict(list)
    for call in calls:
        by_owner[owner_of.get(call.reference)].append(call)
    # A call "holds" the owner's lane at the bank from its start until the bank
    # decided it (a slow reply after the decision is the network's, not a payout);
    # calls that failed before deciding did nothing.
    overlaps = 0
    for owner_calls in by_owner.values():
        decided = [c for c in owner_calls if c.decided_at is not None]
        overlaps += sum(1 for a, b in zip(decided, decided[1:], strict=False)
                        if b.started_at < a.decided_at)
    if overlaps:
        problems.append(f"{overlaps} overlapping payout calls for one owner")
    if stats.get("5xx samples") or stats.get("http errors"):
        problems.append(f"{len(stats.get('5xx samples', []))} answers 5xx, "
                        f"{stats.get('http errors', 0)} requests unanswered")
    stats["deposits credited"] = len(credited)
    stats["withdrawals paid"] = sum(1 for tx in withdrawals.values() if tx.status == "completed")
    stats["withdrawals refunded"] = sum(1 for tx in withdrawals.values()
                                        if tx.status in ("failed", "reversed"))
    return problems


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
    args = parser.parse_args(argv)
    print(f"chaos run: seed {args.seed}, {args.ops} operations, {args.users} users, "
          f"{args.shops} shops, {args.clients} clients")
    problems = run(args)
    if problems:
        for problem in problems[:20]:
            print(f"  PROBLEM: {problem}")
        print(f"chaos: FAILED {problems[0]}")
        return 1
    print("chaos: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
