"""Each money operation, run through its real app, makes at most its budget of
database round trips (wallet.core.budgets; counted by wallet.core.round_trips,
on every connection of the app's engine: the PIN tries' own one too). A
failure lists the statements. bench/round_trips.py runs this file to print
the figures (``WALLET_ROUND_TRIPS_OUT``: a file each test adds its line to)."""
from __future__ import annotations

import json
import os
import time

import pytest

from wallet.banking.models import UserBankAccount
from wallet.core import codes
from wallet.core.budgets import budget_of
from wallet.core.models import Merchant, User
from wallet.core.round_trips import RoundTrips, counting
from wallet.identity.accounts import AccountService
from wallet.merchants.keys import MerchantKeys
from wallet.merchants.payment_requests import NewRequest

from ..api_helpers import auth, new_key, sign_in
from ..conftest import BANK_SETTINGS
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    TEST_BANKS,
    confirm,
    deposit_service,
    login,
    make_user,
    payment_requests,
    pin_form,
)
from .test_webhooks import post as post_webhook
from .test_webhooks import sign

ASHA, RAVI = "+919876543210", "+919812345678"
HDFC_SECRET = BANK_SETTINGS["banks.hdfc.webhook_secrets"].split()[0]


def engine_of(wsgi):
    return wsgi.registry["dbsession_factory"].kw["bind"]


def within_budget(operation: str, engine, trips: RoundTrips) -> None:
    dialect = engine.dialect.name
    budget = budget_of(operation).on(dialect)
    out = os.environ.get("WALLET_ROUND_TRIPS_OUT")
    if out:
        with open(out, "a", encoding="utf-8") as file:
            file.write(json.dumps({"operation": operation, "dialect": dialect,
                                   "statements": trips.count, "budget": budget,
                                   "checkouts": trips.checkouts,
                                   "listing": trips.statements}) + "\n")
    assert trips.count <= budget, (
        f"{operation} made {trips.count} statements on {dialect}, its budget is {budget} "
        f"(wallet/core/budgets.py):\n{trips.listing()}")


@pytest.fixture
def asha(db):
    return make_user(db, ASHA, "Asha", deposit_paise=1_000_00)


@pytest.fixture
def ravi(db):
    return make_user(db, RAVI, "Ravi")


def make_shop(db, handle="chai-point") -> tuple[int, str]:
    """A shop with a live API key: (its id, the secret key)."""
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
            handle, handle.title(), f"{handle}@example.com", PASSWORD)
        merchant.return_origins = "https://shop.example"
        return merchant.id, MerchantKeys(session).issue(merchant, "server").secret


def open_settlement_shards(db, bank: str = "hdfc") -> None:
    """Every settlement shard of ``bank`` opened: which one an operation takes
    hashes from its random reference, and opening one (once in its life)
    costs statements that would make the counts vary from run to run."""
    import ledgerlib

    with db() as session, session.begin():
        for shard in range(TEST_BANKS[bank].settlement_shards):
            ledgerlib.Ledger(session).open_account(codes.bank_settlement(bank, shard), "asset",
                                                   allow_negative=True)


def payment_request(db, merchant_id: int, amount_paise: int = 250_00) -> str:
    new = NewRequest(order_reference=f"order-{time.monotonic_ns()}",
                     amount_paise=amount_paise, description="2 masala dosa",
                     return_url="https://shop.example/done")
    with db() as session, session.begin():
        request, _ = payment_requests(session, tasks=None).create(
            session.get(Merchant, merchant_id), new)
        return request.public_id


# ------------------------------------------------------------------- the API


def test_api_transfer(api, asha, ravi):
    token = sign_in(api)
    with counting(engine_of(api.app)) as trips:
        api.post_json("/v1/transfers", {"to_phone": "98123 45678", "amount_paise": 120_50},
                      headers=auth(token, new_key()), status=201)
    within_budget("api_transfer", engine_of(api.app), trips)


KIRAN = "+919800000001"


def test_api_transfer_held(api, db, ravi):
    """A first payment above wallet.undo_above_paise: held for its undo window."""
    make_user(db, KIRAN, "Kiran", deposit_paise=5_000_00)
    token = sign_in(api, KIRAN)
    with counting(engine_of(api.app)) as trips:
        sent = api.post_json("/v1/transfers", {"to_phone": "98123 45678",
                                               "amount_paise": 2_500_00},
                             headers=auth(token, new_key()), status=201).json
    assert sent["status"] == "pending"
    within_budget("api_transfer_held", engine_of(api.app), trips)


def test_api_transfer_undo(api, db, ravi):
    make_user(db, KIRAN, "Kiran", deposit_paise=5_000_00)
    token = sign_in(api, KIRAN)
    sent = api.post_json("/v1/transfers", {"to_phone": "98123 45678", "amount_paise": 2_500_00},
                         headers=auth(token, new_key()), status=201).json
    with counting(engine_of(api.app)) as trips:
        undone = api.post(f"/v1/transfers/{sent['id']}/undo", headers=auth(token),
                          status=200).json
    assert undone["status"] == "failed"
    within_budget("api_transfer_undo", engine_of(api.app), trips)


def test_api_shop_payment(api, db, asha):
    make_shop(db)
    token = sign_in(api)
    with counting(engine_of(api.app)) as trips:
        api.post_json("/v1/payments", {"merchant_handle": "chai-point", "amount_paise": 99_00},
                      headers=auth(token, new_key()), status=201)
    within_budget("api_shop_payment", engine_of(api.app), trips)


def test_api_pay_money_request(api, db, asha, ravi):
    """Users' money requests: Asha pays Ravi's request (one transfer)."""
    from wallet.money.money_requests import MoneyRequests, RequestPolicy

    from ..wallet_helpers import services_for_tests

    with db() as session, session.begin():
        services = services_for_tests(session)
        public_id = MoneyRequests(session, transfers=services.transfers,
                                  policy=RequestPolicy()).ask(
            session.get(User, ravi), ASHA, 120_50, "dinner").public_id
    token = sign_in(api)
    with counting(engine_of(api.app)) as trips:
        api.post_json(f"/v1/money_requests/{public_id}/pay", {"pin": PIN},
                      headers=auth(token, new_key()), status=201)
    within_budget("api_pay_money_request", engine_of(api.app), trips)


def test_withdrawal_request(api, db, asha):
    open_settlement_shards(db)
    token = sign_in(api)
    body = {"bank": "hdfc", "account_number": "50100012345678", "ifsc": "HDFC0001234",
            "amount_paise": 400_00}
    with counting(engine_of(api.app)) as trips:
        api.post_json("/v1/withdrawals", body, headers=auth(token, new_key()), status=202)
    within_budget("withdrawal_request", engine_of(api.app), trips)


def test_withdraw_to_a_saved_account(api, db, asha):
    open_settlement_shards(db)
    with db() as session, session.begin():
        account = UserBankAccount(user_id=asha, bank_code="hdfc", account_number="50100012345678",
                                  ifsc="HDFC0001234", holder_name="ASHA VERMA",
                                  created_at=codes.utcnow())
        session.add(account)
        session.flush()
        account_id = account.id
    token = sign_in(api)
    with counting(engine_of(api.app)) as trips:
        api.post_json(f"/v1/bank_accounts/{account_id}/withdrawals",
                      {"amount_paise": 400_00, "pin": PIN}, headers=auth(token, new_key()),
                      status=202)
    within_budget("api_withdraw_saved", engine_of(api.app), trips)


def test_refund(api, db, asha):
    merchant_id, secret = make_shop(db)
    public_id = payment_request(db, merchant_id)
    with db() as session, session.begin():
        payment_requests(session, tasks=None).pay(
            session.get(User, asha), public_id, pin=PIN)
    api.get("/v1/payment_requests", headers=auth(secret))  # the key's first use: touched
    with counting(engine_of(api.app)) as trips:
        api.post_json(f"/v1/payment_requests/{public_id}/refunds", {"amount_paise": 100_00},
                      headers=auth(secret, new_key()), status=201)
    within_budget("refund", engine_of(api.app), trips)


# ------------------------------------------------------------- the user app


def test_page_send(user_app, asha, ravi):
    login(user_app, "98765 43210")
    form = user_app.get("/send").forms["send-form"]
    form["phone"], form["amount"] = "98123 45678", "250.50"
    confirm_page = form.submit()
    with counting(engine_of(user_app.app)) as trips:
        assert confirm(confirm_page).status_int == 303
    within_budget("page_send", engine_of(user_app.app), trips)


def test_page_shop_payment(user_app, db, asha):
    make_shop(db)
    login(user_app, "98765 43210")
    form = user_app.get("/pay/chai-point").forms["pay-form"]
    form["amount"], form["note"] = "120.50", "2 chai"
    confirm_page = form.submit()
    with counting(engine_of(user_app.app)) as trips:
        assert confirm(confirm_page).status_int == 303
    within_budget("page_shop_payment", engine_of(user_app.app), trips)


def test_checkout_pay(user_app, db, asha):
    merchant_id, _ = make_shop(db)
    public_id = payment_request(db, merchant_id)
    login(user_app, "98765 43210")
    form = pin_form(user_app.get(f"/checkout/{public_id}"), "checkout-form")
    with counting(engine_of(user_app.app)) as trips:
        form.submit(status=303)
    within_budget("checkout_pay", engine_of(user_app.app), trips)


# ---------------------------------------------------------- the webhook app


def test_deposit_settle(webhook, db, asha):

    open_settlement_shards(db)
    with db() as session, session.begin():
        token = deposit_service(session).start(
            session.get(User, asha), "hdfc", 500_50, "form-key-000000000001").token
    body = json.dumps({"type": "deposit.succeeded", "reference": token, "amount_paise": 500_50,
                       "currency": "INR", "bank_txn_id": "HDFC0001"}).encode()
    with counting(engine_of(webhook.app)) as trips:
        reply = post_webhook(webhook, body, signature=sign(HDFC_SECRET, body))
    assert reply.json["status"] == "applied"
    within_budget("deposit_settle", engine_of(webhook.app), trips)


# ------------------------------------------------------------------ the workers


def test_mandate_debit_executed(db, app_engine, asha):
    """A worker's step: one due AutoPay debit executed in its own transaction
    (claimed with its mandate, paid with the standing approval, its
    notification and the shop's webhook event and delivery written)."""
    from ..mandate_helpers import Clock, approved_mandate, make_shop, services

    clock = Clock()
    shop = make_shop(db)
    mandate = approved_mandate(db, clock, shop, asha)
    with db() as session, session.begin():
        services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop), mandate, 250_00)
    clock.advance(days=1)
    with db() as session:
        [debit_id] = services(session, clock).mandate_debits.due()
    with counting(app_engine) as trips:
        with db() as session, session.begin():
            debit = services(session, clock).mandate_debits.execute(debit_id)
            assert debit is not None and debit.status == "succeeded"
    within_budget("mandate_debit", app_engine, trips)


def test_api_pay_mandate_debit(api, db):
    """AutoPay, the customer's side: a debit above the PIN cap (awaiting the
    PIN) paid with it through the API (POST /v1/autopay/debits/<id>/pay)."""
    from ..mandate_helpers import Clock, approved_mandate, make_shop, services

    clock = Clock()
    rich = make_user(db, "+919811122233", "Meera", deposit_paise=50_000_00)
    shop = make_shop(db)
    mandate = approved_mandate(db, clock, shop, rich, max_amount_paise=20_000_00)
    with db() as session, session.begin():
        debit = services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop), mandate, 16_000_00).public_id
    clock.advance(days=1)
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        assert [debits.execute(debit_id).status for debit_id in debits.due()] == [
            "awaiting_pin"]
    token = sign_in(api, "+919811122233")
    with counting(engine_of(api.app)) as trips:
        api.post_json(f"/v1/autopay/debits/{debit}/pay", {"pin": PIN},
                      headers=auth(token, new_key()), status=201)
    within_budget("api_pay_mandate_debit", engine_of(api.app), trips)


# ---------------------------------------------------------------- the workers


def test_scheduled_run(db, runner, app_engine, asha, ravi):
    import datetime as dt

    from wallet.money.schedule_dates import today_in_india

    from ..schedule_helpers import Clock, make_schedule, services

    made = Clock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2))
    make_schedule(db, made, asha, to_phone="98123 45678", amount="75", frequency="weekly",
                  start_date=today_in_india(made.now).isoformat(), count=4)
    now = Clock(dt.datetime.now(dt.timezone.utc))
    with counting(app_engine) as trips:
        run = runner(lambda session: services(session, now).payment_schedules.run_due_one())
    assert run is not None and run.status == "completed"
    within_budget("scheduled_run", app_engine, trips)


def test_compensation_credit(db, app_engine):
    """A worker's step: one day of compensation for a late reversal credited
    on a ticket (its own transaction: the claim, the days paid, the posting,
    the credit with its notification, the day's row, the timeline line)."""
    from ..compensation_helpers import raise_ticket, start, world
    from ..schedule_helpers import services

    clock = start()
    w = world(db, clock)
    tk = raise_ticket(db, clock, w.asha, w.withdrawal, "not_received")  # queued: stuck
    clock.advance(days=1, hours=15)  # day 1 past the withdrawal's T+1 deadline
    with db() as session, session.begin():
        assert services(session, clock).compensations.due() == [tk]
    with counting(app_engine) as trips:
        with db() as session, session.begin():
            made = services(session, clock).compensations.pay_due(tk)
            assert made is not None and [c.day_number for c in made] == [1]
    within_budget("compensation_credit", app_engine, trips)


# ---------------------------------------------------------- report fraud


def test_api_report_fraud(api, db, asha, ravi):
    """The sender reports a transfer as fraud (wallet.care.fraud): a ticket and a hold."""
    from ..wallet_helpers import services_for_tests

    with db() as session, session.begin():
        tx = services_for_tests(session).transfers.send_money(
            session.get(User, asha), "98123 45678", 100_00, "r" * 22, pin=PIN)
    token = sign_in(api)
    with counting(engine_of(api.app)) as trips:
        api.post_json(f"/v1/transactions/{tx.id}/report_fraud", {"note": "a fake buyer"},
                      headers=auth(token), status=201)
    within_budget("api_report_fraud", engine_of(api.app), trips)


# ------------------------------------------------- disputes of shop payments


def _disputed_payment(db, clock, asha):
    """A shop (webhook endpoint, API key) paid by Asha: (shop id, key, payment id)."""
    from ..mandate_helpers import make_shop as shop_with_endpoint
    from ..mandate_helpers import services

    shop = shop_with_endpoint(db, "dosa-corner")
    with db() as session, session.begin():
        secret = MerchantKeys(session).issue(session.get_one(Merchant, shop), "server").secret
        payment = services(session, clock).shop_payments.pay_shop(
            session.get_one(User, asha), session.get_one(Merchant, shop), 250_00,
            f"payment:{asha}:pay-key-000000000001", pin=PIN).id
    return shop, secret, payment


def test_dispute_open(db, app_engine, asha):
    """A customer's dispute opened (from their complaint ticket): the payment
    locked, the disputed amount held in the shop's wallet, the shop told."""
    from ..mandate_helpers import Clock, services

    clock = Clock()
    _, _, payment = _disputed_payment(db, clock, asha)
    with counting(app_engine) as trips:
        with db() as session, session.begin():
            services(session, clock).disputes.open(asha, payment, "not_delivered")
    within_budget("dispute_open", app_engine, trips)


def test_api_dispute_accept(api, db, asha):
    from ..mandate_helpers import Clock, services

    clock = Clock()
    _, secret, payment = _disputed_payment(db, clock, asha)
    with db() as session, session.begin():
        public_id = services(session, clock).disputes.open(asha, payment,
                                                           "not_delivered").public_id
    api.get("/v1/disputes", headers=auth(secret))  # the key's first use: touched
    with counting(engine_of(api.app)) as trips:
        api.post(f"/v1/disputes/{public_id}/accept", headers=auth(secret, new_key()),
                 status=200)
    within_budget("api_dispute_accept", engine_of(api.app), trips)


# ------------------------------------------------------------ payment links


def test_api_payment_link_create(api, db):
    _, secret = make_shop(db)
    api.get("/v1/payment_links", headers=auth(secret))  # the key's first use: touched
    body = {"amount_mode": "fixed", "amount_paise": 499_00, "description": "Table 4 dinner",
            "single_use": True, "reference": "table-4"}
    with counting(engine_of(api.app)) as trips:
        api.post_json("/v1/payment_links", body, headers=auth(secret, new_key()), status=201)
    within_budget("api_payment_link_create", engine_of(api.app), trips)


def _link(db, merchant_id: int, **fields) -> str:
    from wallet.merchants.payment_links import NewLink

    from ..wallet_helpers import services_for_tests

    new = NewLink(**{"amount_mode": "fixed", "amount": 250_00, "description": "Dinner",
                     **fields})
    with db() as session, session.begin():
        return services_for_tests(session).payment_links.create(
            session.get_one(Merchant, merchant_id), new).public_id


def test_link_open(user_app, db, asha):
    merchant_id, _ = make_shop(db)
    link = _link(db, merchant_id, amount_mode="open", amount=None, min_amount="10")
    login(user_app, "98765 43210")
    form = user_app.get(f"/l/{link}").forms["link-form"]
    form["amount"] = "120.50"
    with counting(engine_of(user_app.app)) as trips:
        form.submit(status=303)
    within_budget("link_open", engine_of(user_app.app), trips)


def test_link_checkout_pay(user_app, db, asha):
    merchant_id, _ = make_shop(db)
    link = _link(db, merchant_id, single_use=True)
    login(user_app, "98765 43210")
    checkout = user_app.get(f"/l/{link}").forms["link-form"].submit(status=303).follow()
    form = pin_form(checkout, "checkout-form")
    with counting(engine_of(user_app.app)) as trips:
        form.submit(status=303)
    within_budget("link_checkout_pay", engine_of(user_app.app), trips)
# ------------------------------------------------------ automatic settlement


def test_scheduled_settlement(db, runner, app_engine):
    """A worker's step: one shop's due settlement window (its own transaction:
    the schedule claimed SKIP LOCKED, the balance read, one payout held and
    queued)."""
    from ..settlement_helpers import START, Clock, make_shop, pay, services, set_schedule

    clock = Clock(START)
    shop = make_shop(db, clock)
    clock.advance(days=1)
    set_schedule(db, clock, shop, "daily_times", "11:00", "100")
    payer = make_user(db, "+919811122233", "Meera", deposit_paise=5_000_00)
    pay(db, clock, payer, "chai-point", 2_000_00, "pay-key-0000000001")
    open_settlement_shards(db)
    clock.advance(hours=3, minutes=1)
    with counting(app_engine) as trips:
        step = runner(lambda session: services(session, clock).auto_settlements.run_due_one())
    assert step is not None and step.settlement is not None
    within_budget("scheduled_settlement", app_engine, trips)
