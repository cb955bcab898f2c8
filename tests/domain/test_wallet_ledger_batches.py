"""The wallet on ledgerlib 2: shops paid in one batch (the demo seed's
history), statements' opening/closing balances and the merchant dashboard's
balance at each period's end, from the ledger's running balances."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

import ledgerlib
from wallet.core.codes import IST, Kind
from wallet.core.errors import DuplicateRequest, WalletError
from wallet.core.models import Merchant, Transaction, User
from wallet.merchants.reports import MerchantReports
from wallet.money import records
from wallet.money.bulk_payments import ShopPayment, pay_shop_batch
from wallet.money.errors import InsufficientBalance
from wallet.seed import seed_demo

from ..wallet_helpers import (
    PIN,
    activity_service,
    make_user,
    services_for_tests,
    shop_payments_service,
)


def _shop(session) -> Merchant:
    from wallet.identity.accounts import AccountService

    return AccountService(session, bcrypt_rounds=4).signup_merchant(
        "tea-stall", "Tea Stall", "tea@example.com", "correct horse battery")


def test_a_shop_paid_in_one_batch(db):
    asha_id = make_user(db, "+919800000001", deposit_paise=1_000_00)
    ravi_id = make_user(db, "+919800000002", deposit_paise=50_00)
    with db() as session, session.begin():
        shop = _shop(session)
        asha, ravi = session.get(User, asha_id), session.get(User, ravi_id)
        payments = shop_payments_service(session)
        key = lambda user, n: records.idempotency_key(  # noqa: E731
            Kind.PAYMENT, user, f"bulk-pay-{n:04d}-xyz")
        outcome = pay_shop_batch(payments, shop, [
            ShopPayment(asha, 100_00, key(asha, 1), "  2 chai ", pin=PIN),
            ShopPayment(ravi, 60_00, key(ravi, 2), pin=PIN),  # Ravi has 50
            ShopPayment(asha, 100_00, key(asha, 1), pin=PIN),  # the same form again: once
            ShopPayment(asha, 70_00, key(asha, 1), pin=PIN),  # its key, other details
            ShopPayment(asha, 0, key(asha, 3), pin=PIN),
            ShopPayment(ravi, 50_00, key(ravi, 4), "x" * 200, pin=PIN),
            ShopPayment(ravi, 50_00, key(ravi, 5), pin=PIN),
            ShopPayment(ravi, 10_00, key(ravi, 6), pin="2468"),  # a wrong PIN
        ])
        kinds = [type(o).__name__ for o in outcome]
        assert kinds == ["Transaction", "InsufficientBalance", "Transaction",
                         "DuplicateRequest", "WalletError", "WalletError", "Transaction",
                         "WrongPin"]
        assert isinstance(outcome[1], InsufficientBalance)
        assert isinstance(outcome[3], DuplicateRequest)
        assert outcome[2] is outcome[0] or outcome[2].id == outcome[0].id
        assert outcome[0].note == "2 chai"
        assert activity_service(session).balance(shop).posted_paise == 150_00
        assert activity_service(session).balance(asha).available_paise == 900_00
        assert isinstance(outcome[4], WalletError)
        assert ledgerlib.verify(session).ok


def test_the_demo_seed_posts_its_history_in_batches_and_verifies(db):
    with db() as session, session.begin():
        logins = seed_demo(services_for_tests(session))
        assert logins
    with db() as session:
        shop = session.scalar(select(Merchant).where(Merchant.handle == "chai-point"))
        paid = session.scalar(select(func.coalesce(func.sum(Transaction.amount_paise), 0))
                              .where(Transaction.payee_merchant_id == shop.id))
        assert paid > 0
        activity = activity_service(session)
        assert activity.balance(shop).posted_paise == paid
        report = ledgerlib.verify(session)
        assert report.ok, report.summary()
        # Statement figures: opening + what moved in the month = closing.
        now = dt.datetime.now(dt.timezone.utc)
        start = now - dt.timedelta(days=60)
        period = activity.period_balances(shop, start, now)
        moved = session.scalar(select(func.coalesce(func.sum(Transaction.amount_paise), 0))
                               .where(Transaction.payee_merchant_id == shop.id,
                                      Transaction.created_at >= start,
                                      Transaction.created_at < now))
        assert period.closing_paise - period.opening_paise == moved
        assert 0 < period.opening_paise < period.closing_paise == paid
        # The dashboard's balance at each month's end comes from the same ledger.
        board = MerchantReports(session).dashboard(shop, now.astimezone(IST).date())
        assert board.months[-1].closing_balance_paise == paid
        first = board.months[0]
        end_of_first = dt.datetime.combine(board.months[1].period_start, dt.time(), IST)
        assert first.closing_balance_paise == session.scalar(
            select(func.coalesce(func.sum(Transaction.amount_paise), 0)).where(
                Transaction.payee_merchant_id == shop.id,
                Transaction.created_at < end_of_first))
    with db() as session, session.begin():
        assert seed_demo(services_for_tests(session)) == []  # once only
