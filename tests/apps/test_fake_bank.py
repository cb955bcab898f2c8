"""The fake bank itself ([app:fake_bank]), through WebTest: its net-banking
page, decisions, status API, misbehaviour knobs and webhook outbox.

The sender thread is off: tests run a delivery round themselves with
``deliver_due``, and move the sender's clock instead of waiting.
"""
from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time
from urllib.parse import urlencode

import pytest
import webtest
from sqlalchemy import select

import fake_bank
from fake_bank import sender
from fake_bank.models import Customer, Delivery, Payment
from webhook_app.signatures import SignatureError, verify

from ..conftest import BANK_SETTINGS

HDFC_API_KEY = BANK_SETTINGS["banks.hdfc.api_key"]
AXIS_API_KEY = BANK_SETTINGS["banks.axis.api_key"]
HDFC_SECRETS = tuple(BANK_SETTINGS["banks.hdfc.webhook_secrets"].split())  # current, old
RETURN_URL = "http://127.0.0.1:6543/deposits/ref-return-here"
REFERENCE = "dep_ref_000000000001"


@pytest.fixture
def make_bank(tmp_path):
    """Builds a fake bank app (sender off, knobs allowed) with extra settings."""
    apps = []

    def build(**overrides):
        settings = {
            **BANK_SETTINGS,
            "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / f'fake_bank{len(apps)}.sqlite'}",
            "fake_bank.webhook_url": "http://127.0.0.1:9/webhooks/{bank}",  # nobody listens
            "fake_bank.sender": "off",
            "fake_bank.allow_overrides": "true",
            "fake_bank.seed": "7",
            **overrides,
        }
        app = fake_bank.main({}, **settings)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.registry["fb.session_factory"].kw["bind"].dispose()


@pytest.fixture
def bank_wsgi(make_bank):
    return make_bank()


@pytest.fixture
def bank(bank_wsgi):
    return webtest.TestApp(bank_wsgi)


@pytest.fixture
def fb_db(bank_wsgi):
    """The fake bank's session factory (its own database)."""
    return bank_wsgi.registry["fb.session_factory"]


@pytest.fixture
def deliver(bank_wsgi):
    """One round of the webhook sender; returns how many deliveries it attempted."""
    return lambda **overrides: sender.deliver_due(
        **{**bank_wsgi.registry["fb.sender_args"], **overrides})


class Clock:
    """The sender's clock, set by the test (no waiting for backoffs)."""

    def __init__(self):
        self.now = sender.utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sender, "utcnow", clock)
    return clock


# ------------------------------------------------------------------ helpers

def open_page(bank, reference=REFERENCE, amount_paise=500_50, return_url=RETURN_URL,
              status=200, bank_code="hdfc"):
    """The customer lands on the net-banking page, as our redirect sends them."""
    query = urlencode({"reference": reference, "amount_paise": amount_paise,
                       "currency": "INR", "return_url": return_url})
    return bank.get(f"/{bank_code}/netbanking?{query}", status=status)


def decide(bank, action, customer_id, reference=REFERENCE, headers=None, status=302):
    return bank.post(f"/hdfc/netbanking/{reference}",
                     {"action": action, "customer_id": str(customer_id)},
                     headers=headers or {}, status=status)


def customers(fb_db, bank_code="hdfc") -> list[Customer]:
    """The bank's seeded customers, in seed order: Asha (₹2,00,000), Ravi (₹50,000),
    Meera (₹5,000)."""
    with fb_db() as session:
        return list(session.scalars(
            select(Customer).where(Customer.bank_code == bank_code).order_by(Customer.id)))


def balances(fb_db) -> dict[int, int]:
    with fb_db() as session:
        return dict(session.execute(select(Customer.id, Customer.balance_paise)).all())


def payment(fb_db, reference=REFERENCE) -> Payment | None:
    with fb_db() as session:
        return session.scalar(select(Payment).where(Payment.reference == reference))


def deliveries(fb_db) -> list[Delivery]:
    with fb_db() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def status_api(bank, reference=REFERENCE, api_key=HDFC_API_KEY, status=200, headers=None):
    auth = {} if api_key is None else {"Authorization": f"Bearer {api_key}"}
    return bank.get(f"/hdfc/api/payments/{reference}", headers={**auth, **(headers or {})},
                    status=status)


# ------------------------------------------------------------------ net banking

def test_netbanking_page_shows_the_amount_and_the_customers_accounts(bank, fb_db):
    page = open_page(bank, amount_paise=500_50)

    assert page.html.select_one("#bank-amount").text == "₹500.50"
    assert "HDFC NetBanking" in page.html.title.text
    options = page.html.select("#customer option")
    asha, ravi, meera = customers(fb_db)
    assert [o["value"] for o in options] == [str(asha.id), str(ravi.id), str(meera.id)]
    assert "Asha Verma" in options[0].text and "₹2,00,000.00" in options[0].text
    opened = payment(fb_db)
    assert (opened.status, opened.amount_paise, opened.currency, opened.return_url) == (
        "pending", 500_50, "INR", RETURN_URL)
    assert deliveries(fb_db) == []

    open_page(bank, amount_paise=500_50)  # reopening the same link: the same payment
    with fb_db() as session:
        assert len(session.scalars(select(Payment)).all()) == 1


def test_netbanking_page_refuses_broken_links(bank, fb_db):
    bank.get("/hdfc/netbanking?reference=r1&amount_paise=100", status=400)  # no return_url
    open_page(bank, amount_paise=0, status=400)
    open_page(bank, return_url="javascript:alert(1)", status=400)
    open_page(bank, bank_code="sbi", status=404)
    assert payment(fb_db) is None
    open_page(bank, amount_paise=500_50)
    open_page(bank, amount_paise=900_00, status=400)  # same reference, another amount
    assert payment(fb_db).amount_paise == 500_50


def test_approve_debits_the_chosen_account_and_returns_to_the_wallet(bank, fb_db):
    ravi = customers(fb_db)[1]
    before = balances(fb_db)
    form = open_page(bank).form
    form["customer_id"] = str(ravi.id)

    response = form.submit("action", value="approve", status=302)

    assert response.location == RETURN_URL
    assert balances(fb_db) == {**before, ravi.id: before[ravi.id] - 500_50}
    approved = payment(fb_db)
    assert (approved.status, approved.customer_id, approved.reason) == ("approved", ravi.id, "")
    assert approved.decided_at is not None
    [delivery] = deliveries(fb_db)
    assert json.loads(delivery.body) == {
        "type": "deposit.succeeded", "reference": REFERENCE, "amount_paise": 500_50,
        "currency": "INR", "bank_txn_id": f"HDFC{approved.id:010d}", "reason": ""}
    assert (delivery.bank_code, delivery.attempts, delivery.delivered_at) == ("hdfc", 0, None)
    assert delivery.event_id.startswith("evt_")
    assert delivery.next_attempt_at <= sender.utcnow()  # due at once


def test_decline_moves_no_money_and_reports_a_failed_deposit(bank, fb_db):
    before = balances(fb_db)
    response = open_page(bank).form.submit("action", value="decline", status=302)

    assert response.location == RETURN_URL
    assert balances(fb_db) == before
    declined = payment(fb_db)
    assert (declined.status, declined.reason, declined.customer_id) == (
        "declined", "declined by customer", None)
    [delivery] = deliveries(fb_db)
    body = json.loads(delivery.body)
    assert (body["type"], body["amount_paise"], body["reason"]) == (
        "deposit.failed", 500_50, "declined by customer")


def test_approving_more_than_the_account_holds_is_declined_for_insufficient_funds(bank, fb_db):
    meera = customers(fb_db)[2]
    assert meera.balance_paise == 5_000_00
    before = balances(fb_db)
    open_page(bank, amount_paise=5_000_01)

    response = decide(bank, "approve", meera.id)

    assert response.location == RETURN_URL
    assert balances(fb_db) == before
    declined = payment(fb_db)
    assert (declined.status, declined.reason) == ("declined", "insufficient funds")
    assert json.loads(deliveries(fb_db)[0].body)["type"] == "deposit.failed"


def test_an_account_of_another_bank_cannot_pay(bank, fb_db):
    axis_customer = customers(fb_db, "axis")[0]
    before = balances(fb_db)
    open_page(bank)
    decide(bank, "approve", axis_customer.id)
    assert balances(fb_db) == before
    assert (payment(fb_db).status, payment(fb_db).reason) == ("declined", "no such account")


def test_a_decided_payment_cannot_be_decided_again(bank, fb_db):
    asha = customers(fb_db)[0]
    open_page(bank)
    decide(bank, "approve", asha.id)
    after_first = (balances(fb_db), payment(fb_db).decided_at, len(deliveries(fb_db)))

    for action in ("decline", "approve"):  # the back button, a double click
        response = decide(bank, action, asha.id)
        assert response.location == RETURN_URL

    assert (balances(fb_db), payment(fb_db).decided_at, len(deliveries(fb_db))) == after_first
    assert payment(fb_db).status == "approved"
    page = open_page(bank)
    assert "This payment is already approved" in page.text
    assert not page.forms  # no buttons left to press


def test_deciding_an_unknown_reference_is_a_404(bank, fb_db):
    decide(bank, "approve", customers(fb_db)[0].id, reference="never-opened-000001", status=404)
    assert deliveries(fb_db) == []


# ------------------------------------------------------------------ status API

def test_status_api_needs_the_banks_own_api_key(bank, fb_db):
    open_page(bank)
    for api_key in (None, "wrong-key", AXIS_API_KEY, HDFC_API_KEY + "x"):
        assert status_api(bank, api_key=api_key, status=401).json == {"error": "unauthorised"}
    bank.get(f"/hdfc/api/payments/{REFERENCE}", headers={"Authorization": HDFC_API_KEY},
             status=401)  # the key without "Bearer"
    assert status_api(bank, reference="no-such-reference-01", status=404).json == {
        "reference": "no-such-reference-01", "status": "unknown"}


def test_status_api_reports_the_decision_and_the_amount(bank, fb_db):
    asha = customers(fb_db)[0]
    open_page(bank, reference="ref-approved-000001", amount_paise=500_50)
    open_page(bank, reference="ref-declined-000001", amount_paise=250_00)
    assert status_api(bank, reference="ref-approved-000001").json["status"] == "pending"

    decide(bank, "approve", asha.id, reference="ref-approved-000001")
    decide(bank, "decline", asha.id, reference="ref-declined-000001")

    assert status_api(bank, reference="ref-approved-000001").json == {
        "reference": "ref-approved-000001", "status": "approved", "amount_paise": 500_50,
        "currency": "INR", "reason": ""}
    assert status_api(bank, reference="ref-declined-000001").json == {
        "reference": "ref-declined-000001", "status": "declined", "amount_paise": 250_00,
        "currency": "INR", "reason": "declined by customer"}


# ------------------------------------------------------------------ knobs

def test_webhook_twice_queues_two_identical_deliveries(bank, fb_db, deliver, monkeypatch):
    sent = []
    monkeypatch.setattr(sender, "post_webhook",
                        lambda url, secret, event_id, body: sent.append((event_id, body)) or 200)
    open_page(bank)
    decide(bank, "approve", customers(fb_db)[0].id, headers={"X-Fake-Bank-Webhook": "twice"})

    first, second = deliveries(fb_db)
    assert first.id != second.id
    assert (first.event_id, first.body) == (second.event_id, second.body)
    assert deliver() == 2
    assert sent == [(first.event_id, first.body.encode())] * 2
    assert all(d.delivered_at is not None and d.last_status == 200 for d in deliveries(fb_db))
    assert deliver() == 0  # delivered means done


def test_webhook_lost_is_marked_delivered_without_being_sent(bank, fb_db, deliver, monkeypatch):
    sent = []
    monkeypatch.setattr(sender, "post_webhook", lambda *args: sent.append(args) or 200)
    open_page(bank)
    decide(bank, "approve", customers(fb_db)[0].id, headers={"X-Fake-Bank-Webhook": "lost"})

    assert deliver() == 1

    [delivery] = deliveries(fb_db)
    assert (delivery.lost, delivery.attempts, delivery.last_error) == (1, 1, "lost on purpose")
    assert delivery.delivered_at is not None
    assert sent == []
    assert deliver() == 0  # the bank believes it was sent: never retried
    assert payment(fb_db).status == "approved"  # the payment itself happened


def test_webhook_delayed_is_due_only_after_the_delay(bank, fb_db, deliver, clock, monkeypatch):
    sent = []
    monkeypatch.setattr(sender, "post_webhook", lambda *args: sent.append(args) or 200)
    open_page(bank)
    decide(bank, "approve", customers(fb_db)[0].id,
           headers={"X-Fake-Bank-Webhook": "delayed", "X-Fake-Bank-Webhook-Delay-S": "120"})

    [delivery] = deliveries(fb_db)
    delay = delivery.next_attempt_at - payment(fb_db).decided_at
    assert dt.timedelta(seconds=120) <= delay < dt.timedelta(seconds=121)
    clock.now = delivery.next_attempt_at - dt.timedelta(seconds=1)
    assert deliver() == 0 and sent == []
    clock.now = delivery.next_attempt_at
    assert deliver() == 1 and len(sent) == 1


def test_fail_knob_answers_503_and_decides_nothing(bank, fb_db):
    asha = customers(fb_db)[0]
    before = balances(fb_db)
    open_page(bank)

    response = decide(bank, "approve", asha.id, headers={"X-Fake-Bank-Fail": "1"}, status=503)

    assert "The bank is having trouble" in response.text
    assert balances(fb_db) == before
    assert payment(fb_db).status == "pending"
    assert deliveries(fb_db) == []
    status_api(bank, headers={"X-Fake-Bank-Fail": "1"}, status=503)
    decide(bank, "approve", asha.id)  # the customer tries again, and it works
    assert payment(fb_db).status == "approved"


def test_knob_headers_are_ignored_unless_overrides_are_allowed(make_bank):
    strict_bank = webtest.TestApp(make_bank(**{"fake_bank.allow_overrides": "false"}))
    fb_db = strict_bank.app.registry["fb.session_factory"]
    open_page(strict_bank)
    decide(strict_bank, "approve", customers(fb_db)[0].id,
           headers={"X-Fake-Bank-Fail": "1", "X-Fake-Bank-Webhook": "twice"})
    assert payment(fb_db).status == "approved"
    assert len(deliveries(fb_db)) == 1


# ------------------------------------------------------------------ webhook delivery

def test_failing_delivery_backs_off_more_each_time_and_gives_up(bank, fb_db, deliver, clock):
    """The webhook URL is a closed port: every attempt fails to connect."""
    open_page(bank)
    decide(bank, "approve", customers(fb_db)[0].id)
    clock.now = deliveries(fb_db)[0].next_attempt_at
    due_times = []

    for attempt in range(1, sender.MAX_ATTEMPTS + 1):
        assert deliver() == 1
        [delivery] = deliveries(fb_db)
        assert (delivery.attempts, delivery.delivered_at, delivery.last_status) == (
            attempt, None, None)
        assert "refused" in delivery.last_error
        if attempt == sender.MAX_ATTEMPTS:
            break
        backoff_s = min(2 ** attempt, sender.MAX_BACKOFF_S)
        waited_s = (delivery.next_attempt_at - clock.now).total_seconds()
        assert 0.5 * backoff_s <= waited_s <= 1.5 * backoff_s  # with jitter
        due_times.append(delivery.next_attempt_at)
        clock.now = delivery.next_attempt_at - dt.timedelta(milliseconds=1)
        assert deliver() == 0  # not before its time
        clock.now = delivery.next_attempt_at

    assert due_times == sorted(set(due_times))  # each retry is later than the last
    assert delivery.next_attempt_at is None  # given up
    clock.now += dt.timedelta(days=1)
    assert deliver() == 0
    assert deliveries(fb_db)[0].attempts == sender.MAX_ATTEMPTS


class WebhookCatcher(http.server.HTTPServer):
    """Stands in for our webhook app: records each request and answers with the
    given statuses in turn."""

    def __init__(self, statuses):
        self.statuses, self.received = list(statuses), []
        catcher = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                catcher.received.append((self.path, dict(self.headers), body))
                self.send_response(catcher.statuses.pop(0))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_port}/webhooks/{{bank}}"


@pytest.fixture
def catcher():
    servers = []

    def start(*statuses):
        server = WebhookCatcher(statuses)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_webhooks_are_signed_per_the_contract_and_retried_after_a_5xx(bank, fb_db, deliver,
                                                                      clock, catcher):
    wallet = catcher(503, 200)
    open_page(bank)
    decide(bank, "approve", customers(fb_db)[0].id)
    [queued] = deliveries(fb_db)
    clock.now = queued.next_attempt_at

    assert deliver(webhook_url=wallet.url) == 1
    [delivery] = deliveries(fb_db)
    assert (delivery.attempts, delivery.last_status, delivery.delivered_at) == (1, 503, None)
    clock.now = delivery.next_attempt_at
    assert deliver(webhook_url=wallet.url) == 1
    [delivery] = deliveries(fb_db)
    assert (delivery.attempts, delivery.last_status) == (2, 200)
    assert delivery.delivered_at is not None

    for path, headers, body in wallet.received:
        assert path == "/webhooks/hdfc"
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Bank-Event-Id"] == queued.event_id  # the same event, re-sent
        assert body == queued.body.encode()
        signature = headers["X-Bank-Signature"]
        verify(signature, body, HDFC_SECRETS, time.time())  # our verifier accepts it
        verify(signature, body, HDFC_SECRETS[:1], time.time())  # signed with the current one
        with pytest.raises(SignatureError):
            verify(signature, body, HDFC_SECRETS[1:], time.time())
        with pytest.raises(SignatureError):
            verify(signature, body.replace(b"500", b"900"), HDFC_SECRETS, time.time())
        with pytest.raises(SignatureError, match="5-minute"):
            verify(signature, body, HDFC_SECRETS, time.time() + 301)
    assert len(wallet.received) == 2


def test_sender_thread_stops_cleanly(make_bank):
    thread = make_bank(**{"fake_bank.sender": "thread"}).registry["fb.sender"]
    assert thread.is_alive()
    thread.stop()
    assert not thread.is_alive()
