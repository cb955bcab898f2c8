"""The whole deposit flow over real HTTP: the user app, the webhook app and the
fake bank (with its webhook sender thread), each served by waitress on its own
loopback port. The user app sends the customer to the fake bank; the fake bank
sends the customer back and its signed webhook to the webhook app.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

import fake_bank
import ledgerlib
import webapp
import webhook_app
from fake_bank.models import Customer, Delivery
from wallet.banking.banks import BankConfig, load_banks
from wallet.banking.models import WebhookAttempt
from wallet.core.models import Transaction, User

from ..conftest import BANK_SETTINGS, dispose_app_engine
from ..live_servers import (
    BrowserThread,
    Reply,
    banks_served_by,
    fake_bank_settings,
    free_ports,
    http,
    serving,
    wait_until,
)
from ..wallet_helpers import (
    PASSWORD,
    balance,
    bank_client,
    deposit_service,
    make_user,
    sweep_stuck_deposits,
)

ASHA = "+919876543210"
AXIS_SECRET = BANK_SETTINGS["banks.axis.webhook_secrets"]


@dataclass
class Stack:
    user_url: str
    webhook_url: str
    bank_url: str
    banks: dict[str, BankConfig]  # as the user app sees them: pointing at the fake bank
    webhook_wsgi: object
    bank_db: sessionmaker  # the fake bank's own database


def stop_sender(thread) -> None:
    thread.stop()
    assert not thread.is_alive()


@pytest.fixture
def stack(web_settings, tmp_path):
    user_port, webhook_port, bank_port = free_ports(3)
    bank_url = f"http://127.0.0.1:{bank_port}"
    settings = dict(web_settings)  # the user app and the webhook app share its database
    banks_served_by(settings, bank_url, ("hdfc", "axis"))
    bank_settings = fake_bank_settings(BANK_SETTINGS, tmp_path, webhook_port, seed=7)

    with contextlib.ExitStack() as cleanup:  # undone last to first
        webhook_wsgi = webhook_app.main({}, **settings)
        cleanup.callback(dispose_app_engine, webhook_wsgi)
        user_wsgi = webapp.main({}, **settings)
        cleanup.callback(dispose_app_engine, user_wsgi)
        bank_wsgi = fake_bank.main({}, **bank_settings)
        bank_db = bank_wsgi.registry["fb.session_factory"]
        cleanup.callback(bank_db.kw["bind"].dispose)
        cleanup.callback(stop_sender, bank_wsgi.registry["fb.sender"])
        yield Stack(
            webhook_url=cleanup.enter_context(serving(webhook_wsgi, webhook_port)),
            bank_url=cleanup.enter_context(serving(bank_wsgi, bank_port)),
            user_url=cleanup.enter_context(serving(user_wsgi, user_port)),
            banks=load_banks(settings),
            webhook_wsgi=webhook_wsgi,
            bank_db=bank_db,
        )


@pytest.fixture(scope="module")
def browser():
    browser = BrowserThread()
    yield browser
    browser.close()


# ------------------------------------------------------------------ helpers

def deposit_row(db, token: str) -> Transaction:
    with db() as session:
        return session.scalar(select(Transaction).where(Transaction.token == token))


def onramp_entries(db, token: str) -> int:
    """How many ledger entries carry this deposit's idempotency key."""
    entries = ledgerlib.schema.entries
    with db() as session:
        return session.scalar(select(func.count()).select_from(entries)
                              .where(entries.c.idempotency_key == f"onramp:{token}"))


def webhook_verdicts(db) -> list[tuple[int, str]]:
    with db() as session:
        return [(a.http_status, a.verdict)
                for a in session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))]


def bank_customer(stack: Stack, index: int = 0, bank_code: str = "hdfc") -> Customer:
    with stack.bank_db() as session:
        return session.scalars(select(Customer).where(Customer.bank_code == bank_code)
                               .order_by(Customer.id)).all()[index]


def bank_deliveries(stack: Stack) -> list[Delivery]:
    with stack.bank_db() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def sent_webhooks(stack: Stack) -> list[Delivery]:
    """The webhooks the bank considers sent (answered 2xx, or lost on purpose)."""
    return [d for d in bank_deliveries(stack) if d.delivered_at is not None]


def start_deposit(db, banks, user_id: int, amount_paise: int, request_key: str) -> str:
    """A pending deposit, as the add-money form makes it; returns its token."""
    with db() as session, session.begin():
        user = session.get(User, user_id)
        return deposit_service(session, banks).start(user, "hdfc", amount_paise,
                                                     request_key).token


def open_at_bank(stack: Stack, token: str, amount_paise: int) -> None:
    """The customer lands on the bank's page (so the bank has the payment)."""
    query = urlencode({"reference": token, "amount_paise": amount_paise, "currency": "INR",
                       "return_url": "http://127.0.0.1/x"})
    assert http("GET", f"{stack.bank_url}/hdfc/netbanking?{query}").status == 200


def decide_at_bank(stack: Stack, token: str, action: str, knobs: dict | None = None) -> None:
    """The customer presses a button on the bank's page; ``knobs`` are the fake
    bank's misbehaviour headers."""
    reply = http("POST", f"{stack.bank_url}/hdfc/netbanking/{token}", headers=knobs,
                 form={"action": action, "customer_id": bank_customer(stack).id})
    assert (reply.status, reply.headers["Location"]) == (302, "http://127.0.0.1/x")


def sweep(stack: Stack, db, expire_after: dt.timedelta = dt.timedelta(0)) -> dict[str, int]:
    """The stuck-deposit sweeper, treating every pending deposit as stuck
    (and, unless told, as past its time)."""
    def run_in_transaction(fn):
        with db() as session, session.begin():
            return fn(session)

    return sweep_stuck_deposits(run_in_transaction, stack.banks, bank_client,
                                older_than=dt.timedelta(0), expire_after=expire_after)


def sweep_counts(checked=0, settled=0, still_pending=0, bank_unavailable=0) -> dict[str, int]:
    return {"checked": checked, "settled": settled, "still_pending": still_pending,
            "bank_unavailable": bank_unavailable}


# ------------------------------------------------------------------ in the browser

def log_in(page, phone: str) -> None:
    from playwright.sync_api import expect

    page.goto("/login")
    form = page.locator("#login-form")
    form.locator("#phone").fill(phone)
    form.locator("#password").fill(PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def add_money_at_the_bank(page, stack: Stack, amount: str, button: str) -> str:
    """From the dashboard to the bank's page and a press of ``button`` there;
    returns the deposit's token, read from the page we are sent back to."""
    from playwright.sync_api import expect

    page.get_by_role("main").get_by_role("link", name="Add money").click()  # not the menu's
    expect(page).to_have_url(re.compile(r"/add-money$"))
    page.get_by_label("HDFC Bank").check()
    page.locator("#amount").fill(amount)
    page.get_by_role("button", name="Continue to your bank").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(stack.bank_url)}/hdfc/netbanking\?"))
    expect(page.locator("#bank-amount")).to_have_text(f"₹{amount}")
    page.locator("#customer").select_option(index=0)  # the first of the customer's accounts
    page.get_by_role("button", name=button).click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(stack.user_url)}/deposits/[\w-]+$"))
    return page.url.rsplit("/", 1)[1]


@pytest.mark.browser
def test_money_added_at_the_bank_reaches_the_wallet(stack, browser, db):
    user_id = make_user(db, ASHA, "Asha", deposit_paise=100_00)
    at_bank_before = bank_customer(stack).balance_paise

    def in_browser(page):
        from playwright.sync_api import expect

        log_in(page, "98765 43210")
        expect(page.locator("#available")).to_have_text("₹100.00")
        token = add_money_at_the_bank(page, stack, "500.50", button="Approve payment")
        # Pending until the webhook lands; the page reloads itself every 3 s.
        expect(page.locator("#deposit-status")).to_have_text(
            "₹500.50 added to your wallet", timeout=10_000)
        expect(page.locator("#available")).to_have_text("₹600.50")
        page.get_by_role("link", name="Back to your wallet").click()
        expect(page).to_have_url(re.compile(r"/dashboard$"))
        expect(page.locator("#available")).to_have_text("₹600.50")
        return token

    token = browser.run(stack.user_url, in_browser)

    assert balance(db, user_id) == (600_50, 0)
    assert onramp_entries(db, token) == 1
    deposit = deposit_row(db, token)
    with db() as session:
        entry = ledgerlib.Ledger(session).find_entry(f"onramp:{token}")
    assert (deposit.status, deposit.amount_paise, deposit.ledger_entry_id) == (
        "success", 500_50, entry.id)
    assert webhook_verdicts(db) == [(200, "applied")]
    assert bank_customer(stack).balance_paise == at_bank_before - 500_50


@pytest.mark.browser
def test_money_declined_at_the_bank_never_reaches_the_wallet(stack, browser, db):
    user_id = make_user(db, ASHA, "Asha", deposit_paise=100_00)
    at_bank_before = bank_customer(stack).balance_paise

    def in_browser(page):
        from playwright.sync_api import expect

        log_in(page, "98765 43210")
        token = add_money_at_the_bank(page, stack, "500.50", button="Decline")
        expect(page.locator("#deposit-status")).to_have_text(
            "Your bank did not send the money", timeout=10_000)
        expect(page.locator("#deposit-explained")).to_have_text(re.compile(
            r"No money left your bank account .* reason: declined by customer", re.S))
        expect(page.locator("#available")).to_have_text("₹100.00")
        return token

    token = browser.run(stack.user_url, in_browser)

    assert balance(db, user_id) == (100_00, 0)
    assert deposit_row(db, token).status == "failed"
    assert onramp_entries(db, token) == 0
    assert bank_customer(stack).balance_paise == at_bank_before


# ------------------------------------------------------------------ over HTTP only

def test_a_webhook_delivered_twice_credits_once(stack, db):
    user_id = make_user(db, ASHA, "Asha", deposit_paise=100_00)
    token = start_deposit(db, stack.banks, user_id, 250_00, "deposit-form-key-0001")
    open_at_bank(stack, token, 250_00)

    decide_at_bank(stack, token, "approve", knobs={"X-Fake-Bank-Webhook": "twice"})

    wait_until(lambda: len(sent_webhooks(stack)) == 2, "both copies of the webhook to be sent")
    first, second = bank_deliveries(stack)
    assert first.event_id == second.event_id
    assert (first.last_status, second.last_status) == (200, 200)
    assert webhook_verdicts(db) == [(200, "applied"), (200, "duplicate_event")]
    assert deposit_row(db, token).status == "success"
    assert balance(db, user_id) == (350_00, 0)
    assert onramp_entries(db, token) == 1


def test_a_lost_webhook_is_made_good_by_the_sweeper_exactly_once(stack, db):
    user_id = make_user(db, ASHA, "Asha", deposit_paise=100_00)
    token = start_deposit(db, stack.banks, user_id, 250_00, "deposit-form-key-0001")
    open_at_bank(stack, token, 250_00)

    decide_at_bank(stack, token, "approve", knobs={"X-Fake-Bank-Webhook": "lost"})

    [lost] = wait_until(lambda: sent_webhooks(stack), "the bank to consider its webhook sent")
    assert lost.last_error == "lost on purpose"
    assert webhook_verdicts(db) == []  # nothing reached us
    assert deposit_row(db, token).status == "pending"
    assert balance(db, user_id) == (100_00, 0)

    assert sweep(stack, db) == sweep_counts(checked=1, settled=1)

    assert deposit_row(db, token).status == "success"
    assert balance(db, user_id) == (350_00, 0)
    assert onramp_entries(db, token) == 1

    assert sweep(stack, db) == sweep_counts()  # nothing is pending any more
    assert balance(db, user_id) == (350_00, 0)
    assert onramp_entries(db, token) == 1


def test_the_sweeper_settles_what_the_bank_knows_and_waits_for_the_rest(stack, db):
    user_id = make_user(db, ASHA, "Asha", deposit_paise=100_00)
    undecided = start_deposit(db, stack.banks, user_id, 10_00, "deposit-form-key-0001")
    abandoned = start_deposit(db, stack.banks, user_id, 20_00, "deposit-form-key-0002")
    declined = start_deposit(db, stack.banks, user_id, 30_00, "deposit-form-key-0003")
    open_at_bank(stack, undecided, 10_00)  # the customer is still looking at the page
    # `abandoned`: closed the tab before the bank's page; the bank never heard of it.
    open_at_bank(stack, declined, 30_00)
    decide_at_bank(stack, declined, "decline", knobs={"X-Fake-Bank-Webhook": "lost"})
    wait_until(lambda: sent_webhooks(stack), "the bank to consider its webhook sent")

    # Within their time: only the bank's decline is final.
    assert sweep(stack, db, expire_after=dt.timedelta(hours=1)) == sweep_counts(
        checked=3, settled=1, still_pending=2)
    assert deposit_row(db, undecided).status == "pending"
    assert deposit_row(db, abandoned).status == "pending"
    # Past it: the one the bank never heard of and the one left open at the
    # bank are both given up (the bank's "pending" is not waited for for ever).
    assert sweep(stack, db) == sweep_counts(checked=2, settled=2)
    assert deposit_row(db, undecided).status == "failed"
    assert "still unfinished at the bank" in deposit_row(db, undecided).status_reason
    assert deposit_row(db, abandoned).status == "failed"
    assert "no record at the bank" in deposit_row(db, abandoned).status_reason
    assert deposit_row(db, declined).status == "failed"
    assert deposit_row(db, declined).status == "failed"
    assert deposit_row(db, declined).note == "Added from HDFC Bank"  # the reason apart
    assert balance(db, user_id) == (100_00, 0)


# ------------------------------------------------------------------ X-Forwarded-For

def sign(secret: str, body: bytes) -> str:
    t = int(time.time())
    return f"t={t},v1=" + hmac.new(secret.encode(), f"{t}.".encode() + body,
                                   hashlib.sha256).hexdigest()


def axis_webhook(base_url: str, forwarded_for: str, event_id: str) -> Reply:
    """A correctly signed Axis webhook about a deposit we never had."""
    body = json.dumps({"type": "deposit.succeeded", "reference": "no-such-deposit-000001",
                       "amount_paise": 100_00, "currency": "INR"}).encode()
    return http("POST", f"{base_url}/webhooks/axis", body=body, headers={
        "Content-Type": "application/json", "X-Bank-Event-Id": event_id,
        "X-Bank-Signature": sign(AXIS_SECRET, body), "X-Forwarded-For": forwarded_for})


def test_x_forwarded_for_counts_only_behind_the_trusted_proxy(stack, db):
    """Axis may call from 198.51.100.0/24 only; these requests all come from
    127.0.0.1, which may or may not be our proxy."""
    behind_proxy = serving(stack.webhook_wsgi, trusted_proxy="127.0.0.1", trusted_proxy_count=1,
                           trusted_proxy_headers={"x-forwarded-for"},
                           clear_untrusted_proxy_headers=True)
    with behind_proxy as proxied_url:
        # The IP check passes; the 404 is about the reference.
        reply = axis_webhook(proxied_url, "198.51.100.7", "evt_xff_1")
        assert (reply.status, reply.json()["status"]) == (404, "unknown_reference")
        # Only the proxy's own hop counts: the client address is 10.0.0.1.
        reply = axis_webhook(proxied_url, "198.51.100.7, 10.0.0.1", "evt_xff_2")
        assert (reply.status, reply.json()["status"]) == (403, "ip_not_allowed")

    # Without a trusted proxy the header is anybody's word: ignored (waitress 3 drops
    # it by default, and the app checks REMOTE_ADDR, not the header, see below).
    reply = axis_webhook(stack.webhook_url, "198.51.100.7", "evt_xff_3")
    assert (reply.status, reply.json()["status"]) == (403, "ip_not_allowed")

    with db() as session:
        assert [a.source_ip for a in session.scalars(
            select(WebhookAttempt).order_by(WebhookAttempt.id))] == [
            "198.51.100.7", "10.0.0.1", "127.0.0.1"]


def test_the_ip_check_ignores_x_forwarded_for_that_the_server_passes_through(stack):
    with serving(stack.webhook_wsgi, clear_untrusted_proxy_headers=False) as url:
        reply = axis_webhook(url, "198.51.100.7", "evt_xff_4")
    assert (reply.status, reply.json()["status"]) == (403, "ip_not_allowed")
