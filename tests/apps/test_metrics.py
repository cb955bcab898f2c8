"""Prometheus metrics after a scripted run over real HTTP: deposits through the
fake bank's page and its signed webhooks, transfers, payouts driven by a Huey
consumer while the bank fails and then recovers. What /metrics says (the web
apps' and the consumer's own port) must match what happened."""
from __future__ import annotations

import contextlib
import os
from urllib.parse import urlencode

import pytest
import webtest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

import api_app
import fake_bank
import huey_tasks
import webapp
import webhook_app
from fake_bank.models import Customer
from huey_tasks.metrics import serve_metrics
from huey_tasks.withdrawals import process_payouts
from wallet.banking.banks import load_banks
from wallet.core.models import Transaction, User
from wallet.db import get_session_factory
from wallet.operations.ledger_checks import run_ledger_check
from wallet_metrics import PrometheusObserver
from webapp import merchant

from ..conftest import BANK_SETTINGS, ON_POSTGRES, dispose_app_engine
from ..live_servers import free_ports, http, serving, wait_until
from ..wallet_helpers import PIN, deposit_service, make_user, transfers_service, withdrawal_service

REDIS_URL = os.environ.get("WALLET_TEST_REDIS_URL", "")
FINAL = ("completed", "failed", "reversed", "needs_review")
INTERNAL = {"REMOTE_ADDR": "127.0.0.1"}


def scrape(text: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value, parsed by prometheus_client's own parser."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before, after, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


# ------------------------------------------------------------ every app answers


@pytest.mark.parametrize("factory", [webapp.main, merchant.main, api_app.main,
                                     webhook_app.main])
def test_metrics_on_every_app_in_text_format_to_internal_addresses_only(factory, web_settings):
    wsgi = factory({}, **{**web_settings, "api.rate_limit_backend": "memory"})
    try:
        app = webtest.TestApp(wsgi, extra_environ=INTERNAL)
        app.get("/healthz")
        reply = app.get("/metrics")
        assert reply.content_type == "text/plain" and "version=0.0.4" in reply.headers[
            "Content-Type"]
        samples = scrape(reply.text)
        app_label = wsgi.registry["metrics.app"]
        assert value(samples, "wallet_http_requests_total", app=app_label, route="/healthz",
                     method="GET", status="200") >= 1
        assert value(samples, "wallet_queue_depth", queue="payouts", state="queued") == 0
        assert value(samples, "wallet_metrics_database_up") == 1
        # From outside the allow-list: nothing, not even that it exists.
        webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "198.51.100.9"}).get(
            "/metrics", status=404)
    finally:
        dispose_app_engine(wsgi)


def test_requests_are_labelled_by_route_pattern_not_raw_path(user_app):
    for i in range(3):
        user_app.get(f"/withdrawals/{1000 + i}", status="*")
        user_app.get(f"/no-such-page-{i}", status=404)
    body = user_app.get("/metrics", extra_environ=INTERNAL).text
    assert value(scrape(body), "wallet_http_requests_total", app="webapp", route="(unmatched)",
                 method="GET", status="404") >= 3
    assert "no-such-page" not in body
    assert 'route="/withdrawals/{id:\\\\d{1,18}}"' in body  # (escaped in the text format)
    assert "/withdrawals/1001" not in body


def test_the_ledger_check_gauge_reads_the_recorded_runs(user_app, app_engine):
    def last_success():
        samples = scrape(user_app.get("/metrics", extra_environ=INTERNAL).text)
        return value(samples, "wallet_ledger_verify_last_success_timestamp_seconds")

    assert last_success() == 0
    check = run_ledger_check(app_engine)
    assert check.ok and check.problems == 0
    assert last_success() == pytest.approx(check.finished_at.timestamp())


# ------------------------------------------------------------ the scripted run


@pytest.fixture
def db(app_engine):
    """The test's own sessions (where the scripted run starts its deposits,
    transfers and withdrawals) report to the Prometheus observer, as the apps' do."""
    factory = get_session_factory(app_engine, observer=PrometheusObserver())
    sessions = []

    def open_session():
        sessions.append(factory())
        return sessions[-1]

    yield open_session
    for session in sessions:
        session.close()


@pytest.fixture
def live(web_settings, tmp_path):
    """The webhook app, the API app and the fake bank (with its webhook sender)
    over HTTP, and a Huey consumer (4 worker threads) with its metrics port."""
    webhook_port, bank_port, api_port, metrics_port = free_ports(4)
    bank_url = f"http://127.0.0.1:{bank_port}"
    settings = {**web_settings, "api.rate_limit_backend": "memory",
                "wallet.bank_timeout_s": "1.0", "wallet.payout_backoff_base_s": "0.05",
                "wallet.payout_backoff_cap_s": "0.2", "wallet.payout_retry_budget": "100",
                "huey.metrics_port": str(metrics_port)}
    for code in ("hdfc", "axis"):
        settings[f"banks.{code}.netbanking_url"] = f"{bank_url}/{code}/netbanking"
        settings[f"banks.{code}.api_url"] = f"{bank_url}/{code}/api"
    if ON_POSTGRES:
        assert REDIS_URL, "the PostgreSQL run also needs WALLET_TEST_REDIS_URL"
        settings.update({"huey.backend": "redis", "huey.url": REDIS_URL})
    else:
        settings.update({"huey.backend": "sqlite", "huey.path": str(tmp_path / "huey.db")})
    bank_settings = {**BANK_SETTINGS,
                     "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'bank.sqlite'}",
                     "fake_bank.webhook_url": f"http://127.0.0.1:{webhook_port}/webhooks/{{bank}}",
                     "fake_bank.sender": "thread", "fake_bank.allow_overrides": "true",
                     "fake_bank.seed": "11", "fake_bank.latency_ms": "20"}
    with contextlib.ExitStack() as cleanup:
        webhook_wsgi = webhook_app.main({}, **settings)
        cleanup.callback(dispose_app_engine, webhook_wsgi)
        api_wsgi = api_app.main({}, **settings)
        cleanup.callback(dispose_app_engine, api_wsgi)
        bank_wsgi = fake_bank.main({}, **bank_settings)
        cleanup.callback(bank_wsgi.registry["fb.session_factory"].kw["bind"].dispose)
        huey_tasks.configure(settings)
        huey_tasks.huey.flush()
        consumer = huey_tasks.huey.create_consumer(workers=4, worker_type="thread",
                                                   periodic=False, check_worker_health=False)
        consumer.start()

        def stop_consumer():
            consumer.stop(graceful=True)
            huey_tasks.huey.flush()
            huey_tasks.configure({"huey.backend": "memory"})

        cleanup.callback(stop_consumer)
        urls = {"webhook": cleanup.enter_context(serving(webhook_wsgi, webhook_port)),
                "bank": cleanup.enter_context(serving(bank_wsgi, bank_port)),
                "api": cleanup.enter_context(serving(api_wsgi, api_port))}
        cleanup.callback(bank_wsgi.registry["fb.sender"].stop)  # before the servers close
        yield {**urls, "metrics_port": metrics_port, "bank_wsgi": bank_wsgi,
               "banks": load_banks(settings)}


def deposit_through_the_bank(live, db, user_id: int, amount_paise: int, key: str,
                             action: str) -> str:
    """Start a deposit, open the bank's page and press ``action`` there: the
    bank's signed webhook then settles it through the webhook app."""
    with db() as session, session.begin():
        token = deposit_service(session, live["banks"]).start(
            session.get(User, user_id), "hdfc", amount_paise, key).token
    bank = live["bank"]
    query = urlencode({"reference": token, "amount_paise": amount_paise, "currency": "INR",
                       "return_url": "http://127.0.0.1/x"})
    assert http("GET", f"{bank}/hdfc/netbanking?{query}").status == 200
    with live["bank_wsgi"].registry["fb.session_factory"]() as session:
        customer = session.scalars(select(Customer).where(Customer.bank_code == "hdfc")
                                   .order_by(Customer.id)).first()
    reply = http("POST", f"{bank}/hdfc/netbanking/{token}",
                 form={"action": action, "customer_id": customer.id})
    assert reply.status == 302
    return token


def statuses(db, ids):
    with db() as session:
        return dict(session.execute(select(Transaction.id, Transaction.status)
                                    .where(Transaction.id.in_(ids))).all())


def scrape_url(url: str):
    reply = http("GET", url)
    assert reply.status == 200, reply
    return scrape(reply.body.decode())


def unavailable_calls(samples) -> float:
    return sum(value(samples, "wallet_bank_call_duration_seconds_count", bank="hdfc", call=call,
                     outcome="unavailable") for call in ("send_payout", "payout_status"))


def test_scraped_values_match_a_scripted_run(live, db):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=5_000_00)
    ravi = make_user(db, "+919876543211", "Ravi")
    # Workers expose their metrics once started (the consumer's start-up hook).
    worker_url = f"http://127.0.0.1:{live['metrics_port']}/metrics"
    wait_until(lambda: http("GET", worker_url).status == 200, "the workers' metrics port")
    before = scrape_url(f"{live['api']}/metrics")

    # Deposits: two paid at the bank, one declined; the webhooks settle them.
    tokens = [deposit_through_the_bank(live, db, ravi, 100_00, f"form-key-dep-{i:06d}", action)
              for i, action in enumerate(("approve", "approve", "decline"))]
    def deposits_settled():
        with db() as session:  # a fresh session (and snapshot) each time
            found = session.scalars(select(Transaction.status)
                                    .where(Transaction.token.in_(tokens))).all()
        return "pending" not in found

    wait_until(deposits_settled, "deposits settled", timeout_s=20)

    # Transfers: three, all completed.
    for i in range(3):
        with db() as session, session.begin():
            transfers_service(session).send_money(session.get(User, asha), "+919876543211",
                                              10_00, f"form-key-tr-{i:06d}", pin=PIN)

    # Payouts while the bank fails every call, then recovers.
    live["bank_wsgi"].registry["fb.behaviour"].update({"failure_rate": 1.0})
    ids = []
    for i, account in enumerate(("50100012345678", "50100012345679", "00000000012345")):
        with db() as session, session.begin():
            ids.append(withdrawal_service(session, live["banks"]).request(
                session.get(User, asha), "hdfc", account, "HDFC0001234", 50_00,
                f"form-key-wd-{i:06d}", pin=PIN).id)
        process_payouts(f"user:{asha}")
    wait_until(lambda: unavailable_calls(scrape_url(worker_url)) - unavailable_calls(before)
               >= 3, "the failing bank to be called", timeout_s=20)
    live["bank_wsgi"].registry["fb.behaviour"].update({"failure_rate": 0.0})
    final = wait_until(lambda: (s := statuses(db, ids)) and all(v in FINAL for v in s.values())
                       and s, "payouts final", timeout_s=60)
    assert sorted(final.values()) == ["completed", "completed", "failed"]

    def queues_empty():
        samples = scrape_url(f"{live['api']}/metrics")
        depths = {k: v for k, v in samples.items() if k[0] == "wallet_queue_depth"}
        return samples if depths and not any(depths.values()) else None

    after = wait_until(queues_empty, "queue gauges back to zero")
    ops = "wallet_money_operations_total"
    # (One process runs every app and worker here: its counters hold them all.)
    assert delta(before, after, ops, kind="deposit", outcome="pending") == 3
    assert delta(before, after, ops, kind="deposit", outcome="success") == 2
    assert delta(before, after, ops, kind="deposit", outcome="failed") == 1
    assert delta(before, after, ops, kind="transfer", outcome="completed") == 3
    assert delta(before, after, ops, kind="withdrawal", outcome="queued") == 3
    assert delta(before, after, ops, kind="withdrawal", outcome="completed") == 2
    assert delta(before, after, ops, kind="withdrawal", outcome="failed") == 1
    assert delta(before, after, "wallet_payouts_total", bank="hdfc", outcome="completed") == 2
    assert delta(before, after, "wallet_payouts_total", bank="hdfc", outcome="failed") == 1
    assert delta(before, after, "wallet_deposit_settle_seconds_count", bank="hdfc",
                 outcome="success") == 2
    assert delta(before, after, "wallet_bank_webhook_deliveries_total", bank="hdfc",
                 result="accepted", verdict="applied") == 3
    assert delta(before, after, "wallet_http_requests_total", app="webhook_app",
                 route="/webhooks/{bank}", method="POST", status="200") == 3
    # A latency histogram per bank and call type: failures, then answers.
    calls = "wallet_bank_call_duration_seconds_count"
    assert unavailable_calls(after) - unavailable_calls(before) >= 3
    assert delta(before, after, calls, bank="hdfc", call="send_payout", outcome="ok") >= 2
    assert delta(before, after, calls, bank="hdfc", call="send_payout",
                 outcome="rejected") == 1
    assert value(after, "wallet_bank_call_duration_seconds_bucket", bank="hdfc",
                 call="send_payout", outcome="ok", le="+Inf") >= 2
    # The workers' own port says the same (same process, same counters and database).
    worker = scrape_url(worker_url)
    assert value(worker, "wallet_payouts_total", bank="hdfc", outcome="completed") == value(
        after, "wallet_payouts_total", bank="hdfc", outcome="completed")
    assert value(worker, "wallet_queue_depth", queue="payouts", state="sending") == 0


def test_worker_metrics_server_starts_once_per_process():
    # The scripted run (or another test) may already have started it: never twice.
    port = free_ports(1)[0]
    first = serve_metrics(port)
    assert serve_metrics(port) is False
    if first:
        assert http("GET", f"http://127.0.0.1:{port}/metrics").status == 200


def test_the_periodic_ledger_check_records_each_run(web_settings, db):
    from sqlalchemy import text

    from huey_tasks.housekeeping import verify_ledger
    from wallet.operations.ledger_checks import last_success_at, recent_checks

    user = make_user(db, "+919876543210", deposit_paise=100_00)
    huey_tasks.configure(web_settings)  # the workers on the test database
    try:
        assert verify_ledger.call_local() is True
        with db() as session, session.begin():
            session.execute(text("UPDATE ledger_accounts SET posted_paise = posted_paise + 1 "
                                 "WHERE code = :code"), {"code": f"user:{user}:wallet"})
        assert verify_ledger.call_local() is False
    finally:
        huey_tasks.configure({"huey.backend": "memory"})
    with db() as session:
        broken, clean = recent_checks(session)
        assert clean.ok and clean.problems == 0 and clean.duration_ms >= 0
        assert not broken.ok and broken.problems >= 1 and f"user:{user}:wallet" in broken.summary
        assert last_success_at(session) == clean.finished_at
