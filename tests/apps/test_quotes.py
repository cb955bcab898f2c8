"""One confirm step (wallet.money.quotes): every money operation out of a
wallet is a quote (the amount read and checked once, the payee, what the
confirm page shows), confirmed with the PIN through its service; the pages
(webapp/views/confirm.py) and the API both go through the quotes; so does a
shop's settlement to its bank, confirmed with the shop PIN (the merchant app)."""
from __future__ import annotations

import ast
import pathlib

import pytest
import webtest

from wallet.banking.withdrawal_quotes import SettlementQuote, WithdrawalQuote
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, Transaction, User
from wallet.identity.accounts import AccountService
from wallet.identity.errors import WrongPin
from wallet.identity.models import WalletPin
from wallet.merchants.checkout_quotes import CheckoutQuote
from wallet.merchants.payment_requests import NewRequest
from wallet.money.errors import AmountTooLarge
from wallet.money.quotes import PaymentQuote, TransferQuote
from webapp.merchant import main as merchant_main

from ..api_helpers import auth, new_key, sign_in
from ..conftest import dispose_app_engine
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    SHOP_PIN,
    PinForm,
    balance,
    count,
    login,
    pin_form,
    ready_to_settle,
    services_for_tests,
)

ASHA, RAVI = "+919876543210", "+919812345678"
ROOT = pathlib.Path(__file__).resolve().parents[2]
KEY, OTHER_KEY = "form-key-0000000001", "form-key-0000000002"
ACCOUNT = ("hdfc", "5010 0012 345678", "hdfc0001234")


@pytest.fixture
def shop(db):
    with db() as session, session.begin():
        return AccountService(session, bcrypt_rounds=4).signup_merchant(
            "dosa-corner", "Dosa Corner", "dosa@example.com", PASSWORD).id


def payment_request(db, shop, reference="order-1001") -> str:
    with db() as session, session.begin():
        made, _ = services_for_tests(session).payment_requests.create(
            session.get(Merchant, shop), NewRequest(order_reference=reference,
                                                    amount_paise=250_00))
        return made.public_id


def quote_of(session, kind: str, payer: User, *, amount: str | int = "100", target=None):
    services = services_for_tests(session)
    if kind == "send":
        return services.transfers.quote_transfer(payer, RAVI, amount, "lunch")
    if kind == "pay":
        return services.shop_payments.quote_payment(payer, "dosa-corner", amount)
    if kind == "withdraw":
        return services.withdrawals.quote(payer, *ACCOUNT, amount)
    return services.payment_requests.quote(payer, target)


# ------------------------------------------------------------ the amount, once


@pytest.mark.parametrize("kind, amount, problems", [
    ("send", "abc", {"amount": "Enter the amount in rupees, like 250 or 250.50."}),
    ("send", "12.345", {"amount": "Use at most two decimal places (paise)."}),
    ("send", "10000000", {"amount": "The amount can be at most ₹1,00,000.00."}),
    ("send", 0, {"amount": "amount_paise must be more than zero"}),
    ("pay", "-5", {"amount": "The amount must be positive."}),
    ("withdraw", "0.50", {"amount": "Withdraw at least ₹1.00."}),
    ("withdraw", 50, {"amount": "Withdraw at least ₹1.00."}),
])
def test_an_amount_is_read_and_checked_when_quoted(db, asha, ravi, shop, kind, amount,
                                                   problems):
    with db() as session, pytest.raises(WalletError) as refused:
        quote_of(session, kind, session.get(User, asha), amount=amount)
    assert refused.value.errors == problems


@pytest.mark.parametrize("kind, message", [
    ("send", "You can send at most ₹1,00,000.00 at a time."),
    ("pay", "You can pay at most ₹1,00,000.00 at a time."),
    ("withdraw", "Withdraw at most ₹1,00,000.00 at a time."),
])
def test_paise_over_the_operations_limit_are_its_own_refusal(db, asha, shop, kind, message):
    with db() as session, pytest.raises(AmountTooLarge, match=message):
        quote_of(session, kind, session.get(User, asha), amount=1_00_000_01)


def test_every_fields_problem_at_once(db, asha):
    with db() as session:
        services = services_for_tests(session)
        with pytest.raises(WalletError) as refused:
            services.transfers.quote_transfer(session.get(User, asha), RAVI, "1e3", "x" * 141)
        assert set(refused.value.errors) == {"amount", "note"}
        with pytest.raises(WalletError) as refused:
            services.withdrawals.quote(session.get(User, asha), "hdfc", "12ab", "HDFC1", "x")
        assert set(refused.value.errors) == {"amount", "account_number", "ifsc"}


def test_a_quote_reads_nothing_and_its_preview_names_the_payee(db, asha, ravi, shop):
    with db() as session:
        payer = session.get(User, asha)
        quote = quote_of(session, "send", payer, amount="250.50")
        assert quote.amount_paise == 250_50
        text = quote.preview(KEY)
        assert text.question == "Send ₹250.50 to Ravi Kumar (+91 ••••• 45678)?"
        assert text.details == ("Verified name: Ravi K•••••",
                                "This is your first payment to this person: check the "
                                "name and number before you send.", "Note: lunch")
        assert quote_of(session, "pay", payer).preview(KEY).question == (
            "Pay ₹100.00 to Dosa Corner (@dosa-corner)?")
        assert quote_of(session, "withdraw", payer).preview(KEY).question == (
            "Withdraw ₹100.00 to HDFC Bank a/c ••••••5678?")
        with pytest.raises(WalletError, match="out of date"):
            quote_of(session, "send", payer).preview("not a key")


# ------------------------------------------------------------ confirming


def tries(db, user_id: int) -> int:
    with db() as session:
        return session.get(WalletPin, user_id).failed_tries


@pytest.mark.parametrize("kind", ["send", "pay", "withdraw", "checkout"])
def test_a_wrong_pin_at_confirm_counts_the_try_and_moves_nothing(db, asha, ravi, shop, kind):
    target = payment_request(db, shop) if kind == "checkout" else None
    with db() as session, session.begin():
        quote = quote_of(session, kind, session.get(User, asha), target=target)
        with pytest.raises(WrongPin):
            quote.confirm("2468", KEY)
    assert tries(db, asha) == 1
    assert balance(db, asha) == (1_000_00, 0) and count(db, Transaction) == 1  # the deposit


@pytest.mark.parametrize("kind, moved", [("send", 100_00), ("pay", 100_00),
                                         ("withdraw", 100_00), ("checkout", 250_00)])
def test_confirming_twice_with_one_key_moves_money_once(db, asha, ravi, shop, kind, moved):
    target = payment_request(db, shop) if kind == "checkout" else None
    results = []
    for _ in range(2):
        with db() as session, session.begin():
            quote = quote_of(session, kind, session.get(User, asha), target=target)
            result = quote.confirm(PIN, KEY)
            results.append(getattr(result, "transaction_id", None) or result.id)
    assert results[0] == results[1]
    assert count(db, Transaction) == 2  # the deposit, and this
    assert balance(db, asha)[0] == 1_000_00 - moved  # available (a withdrawal's: held)


# ------------------------------------------------ the pages and the API use them

#: The money operations' service methods and amount parsers: reached through the quotes only.
BEHIND_QUOTES = {"send_money", "pay_merchant", "pay_shop", "pay", "request", "preview_transfer",
                 "check_payment_amount", "parse_rupees", "parse_amount", "request_settlement",
                 "approve_payout", "payable"}
FLOWS = ("webapp/views/wallet.py", "webapp/views/payments.py", "webapp/views/withdrawals.py",
         "webapp/views/checkout.py", "api_app/views/money.py",
         "webapp/merchant/settlement_views.py", "webapp/views/mandates.py")


@pytest.mark.parametrize("path", FLOWS)
def test_the_flows_call_no_money_operation_but_through_a_quote(path):
    tree = ast.parse((ROOT / path).read_text())
    calls = [node.func.attr if isinstance(node.func, ast.Attribute) else
             getattr(node.func, "id", "") for node in ast.walk(tree)
             if isinstance(node, ast.Call)]
    assert sorted(set(calls) & BEHIND_QUOTES) == []
    assert {"confirm_step", "confirm"} & set(calls) or "quote_transfer" in calls


@pytest.fixture
def confirmed(monkeypatch):
    """The quote classes whose ``confirm`` ran, in order."""
    seen: list[str] = []
    for cls in (TransferQuote, PaymentQuote, WithdrawalQuote, CheckoutQuote, SettlementQuote):
        for method in ("confirm", "confirm_sent"):  # (the API's transfer: confirm_sent)
            if not hasattr(cls, method):
                continue
            original = getattr(cls, method)

            def spy(self, pin, request_key, _original=original, _name=cls.__name__):
                seen.append(_name)
                return _original(self, pin, request_key)

            monkeypatch.setattr(cls, method, spy)
    return seen


def test_the_pages_confirm_through_the_quotes(user_app, db, asha, ravi, shop, confirmed):
    login(user_app, ASHA)
    form = PinForm(user_app.get("/send").forms["send-form"])
    form["phone"], form["amount"] = "98123 45678", "10"
    form.submit(status=303)
    form = PinForm(user_app.get("/pay/dosa-corner").forms["pay-form"])
    form["amount"] = "20"
    form.submit(status=303)
    form = PinForm(user_app.get("/withdraw").forms["withdraw-form"])
    form["account_number"], form["ifsc"], form["amount"] = ACCOUNT[1:] + ("30",)
    form.submit(status=303)
    pin_form(user_app.get(f"/checkout/{payment_request(db, shop)}"), "checkout-form").submit(
        status=303)
    assert confirmed == ["TransferQuote", "PaymentQuote", "WithdrawalQuote", "CheckoutQuote"]
    assert balance(db, asha) == (1_000_00 - 10_00 - 20_00 - 30_00 - 250_00, 30_00)


def test_the_api_confirms_through_the_quotes(api, db, asha, ravi, shop, confirmed):
    token = sign_in(api)
    for path, body in [
        ("/v1/transfers", {"to_phone": "98123 45678", "amount_paise": 10_00}),
        ("/v1/payments", {"merchant_handle": "dosa-corner", "amount_paise": 20_00}),
        ("/v1/withdrawals", {"bank": "hdfc", "account_number": "50100012345678",
                             "ifsc": "HDFC0001234", "amount_paise": 30_00}),
    ]:
        api.post_json(path, {**body, "pin": PIN}, headers=auth(token, new_key()))
    assert confirmed == ["TransferQuote", "PaymentQuote", "WithdrawalQuote"]
    assert balance(db, asha) == (1_000_00 - 10_00 - 20_00 - 30_00, 30_00)


@pytest.fixture
def merchant_app(web_settings):
    app = merchant_main({}, **web_settings)
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(app)


def test_the_settle_page_confirms_through_the_quote(merchant_app, db, asha, shop, confirmed):
    with db() as session, session.begin():  # ₹300 paid to the shop
        quote_of(session, "pay", session.get(User, asha), amount="300").confirm(PIN, KEY)
    ready_to_settle(db, shop)
    form = merchant_app.get("/login").forms["login-form"]
    form["email"], form["password"] = "dosa@example.com", PASSWORD
    form.submit(status=303)
    form = PinForm(merchant_app.get("/settle").forms["settle-form"], SHOP_PIN)
    form["amount"] = "120"
    assert "/settlements/" in form.submit(status=303).location
    assert confirmed == ["PaymentQuote", "SettlementQuote"]
    with db() as session:
        shop_balance = services_for_tests(session).activity.balance(session.get(Merchant, shop))
    assert (shop_balance.available_paise, shop_balance.held_paise) == (180_00, 120_00)
