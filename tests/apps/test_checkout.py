"""Checkout of payment requests in the user app (/checkout/<pr_…>): every state,
and nothing moves on a refusal."""
from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from wallet.core.codes import RequestStatus
from wallet.core.models import Merchant, Transaction
from wallet.identity.accounts import AccountService
from wallet.merchants.models import PaymentRequest
from wallet.merchants.payment_requests import NewRequest
from wallet.operations.bank_calls import verify_all

from ..wallet_helpers import (
    PASSWORD,
    PIN,
    TEST_BANKS,
    balance,
    deposit_service,
    login,
    make_user,
    payment_requests,
    pin_form,
    state,
)

ASHA, RAVI = "+919876543210", "+919812345678"
RETURN_URL = "https://shop.example/orders/1001/done?lang=en"


@pytest.fixture
def shop(db):
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "dosa-corner", "Dosa Corner", "dosa@example.com", PASSWORD)
        merchant.return_origins = "https://shop.example https://m.shop.example"
        return merchant.id


def create(db, shop, **fields) -> str:
    new = NewRequest(**{"order_reference": "order-1001", "amount_paise": 250_00,
                        "description": "2 masala dosa", "return_url": RETURN_URL, **fields})
    with db() as session, session.begin():
        request, _ = payment_requests(session, tasks=None).create(
            session.get(Merchant, shop), new)
        return request.public_id


def merchant_balance(db, shop) -> int:
    import ledgerlib

    with db() as session:
        return ledgerlib.Ledger(session).balance(f"merchant:{shop}:wallet").available_paise


def request_row(db, public_id) -> PaymentRequest:
    with db() as session:
        return session.scalar(select(PaymentRequest).where(PaymentRequest.public_id == public_id))


def confirm(app, public_id, **kwargs):
    return pin_form(app.get(f"/checkout/{public_id}"), "checkout-form").submit(**kwargs)


def assert_books_clean(db):
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)


def test_log_in_confirm_and_go_back_to_the_shop(user_app, db, shop, asha):
    public_id = create(db, shop)
    redirect = user_app.get(f"/checkout/{public_id}?amount=1&shop=Evil", status=303)
    assert "/login?next=" in redirect.location
    assert urllib.parse.quote(f"/checkout/{public_id}", safe="") in redirect.location
    form = redirect.follow().forms["login-form"]
    form["phone"], form["password"] = ASHA, PASSWORD
    back = form.submit(status=303)
    assert back.location.endswith(f"/checkout/{public_id}?amount=1&shop=Evil")
    page = back.follow()
    assert 'id="shop-name">Dosa Corner<' in page.text and "2 masala dosa" in page.text
    assert 'id="amount">₹250.00<' in page.text and 'id="available">₹1,000.00<' in page.text
    assert "Evil" not in page.text and "₹1.00" not in page.text  # never from the URL
    done = pin_form(page, "checkout-form").submit(status=303)
    parts = urllib.parse.urlsplit(done.location)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "shop.example",
                                                          "/orders/1001/done")
    assert urllib.parse.parse_qsl(parts.query) == [
        ("lang", "en"), ("payment_request_id", public_id), ("status", "paid")]
    assert balance(db, asha) == (750_00, 0) and merchant_balance(db, shop) == 250_00
    row = request_row(db, public_id)
    assert row.status == RequestStatus.PAID and row.payer_user_id == asha
    again = user_app.get(f"/checkout/{public_id}")  # the payer sees it paid, and the way back
    assert "You paid this" in again.text and "checkout-form" not in again.text
    assert re.search(r'id="return-link" href="https://shop\.example/orders/1001/done\?lang=en'
                     r'&amp;payment_request_id=pr_[\w-]+&amp;status=paid"', again.text)
    assert_books_clean(db)


def test_a_double_submit_pays_once(user_app, db, shop, asha):
    public_id = create(db, shop)
    login(user_app, ASHA)
    form = pin_form(user_app.get(f"/checkout/{public_id}"), "checkout-form")
    first, second = form.submit(status=303), form.submit(status=303)
    assert first.location == second.location and "status=paid" in first.location
    assert form.submit(status=303).location == first.location  # a third, later
    assert "You paid this" in user_app.get(f"/checkout/{public_id}").text
    assert balance(db, asha) == (750_00, 0) and merchant_balance(db, shop) == 250_00
    with db() as session:
        assert len(session.scalars(select(Transaction).where(
            Transaction.kind == "payment")).all()) == 1
    assert_books_clean(db)


def test_someone_else_after_it_was_paid_is_told_so(user_app, db, shop, asha):
    public_id = create(db, shop)
    login(user_app, ASHA)
    confirm(user_app, public_id, status=303)
    make_user(db, "+919988776655", "Meera", deposit_paise=500_00)
    user_app.get("/dashboard").forms["logout-form"].submit()
    login(user_app, "+919988776655")
    stale = user_app.get(f"/checkout/{public_id}")
    assert "already been paid" in stale.text and "checkout-form" not in stale.text
    assert "You paid this" not in stale.text and "return-link" not in stale.text
    # A form opened before Asha paid, submitted after.
    before = state(db)
    token = re.search(r'name="csrf_token" value="([^"]+)"', stale.text).group(1)
    refused = user_app.post(f"/checkout/{public_id}",
                            {"csrf_token": token, "request_key": "k" * 22}, status=409)
    assert "already been paid" in refused.text
    assert state(db) == before


@pytest.mark.parametrize("how", ["expired", "expired-unswept", "cancelled"])
def test_expired_and_cancelled_requests_say_so_and_move_nothing(user_app, db, shop, asha, how):
    public_id = create(db, shop)
    login(user_app, ASHA)
    form = pin_form(user_app.get(f"/checkout/{public_id}"), "checkout-form")
    with db() as session, session.begin():
        requests = payment_requests(session, tasks=None)
        if how == "cancelled":
            requests.cancel(session.get(Merchant, shop), public_id)
        else:
            row = session.scalar(select(PaymentRequest).where(
                PaymentRequest.public_id == public_id))
            row.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
            if how == "expired":
                assert requests.expire_due() == 1
    word = "cancelled" if how == "cancelled" else "expired"
    page = user_app.get(f"/checkout/{public_id}")
    assert word in page.text
    assert "checkout-form" not in page.text and f'data-status="{word}"' in page.text
    before = state(db)
    refused = form.submit(status=409)
    assert word in refused.text and "nothing was paid" in refused.text
    assert state(db) == before
    assert balance(db, asha) == (1_000_00, 0) and merchant_balance(db, shop) == 0
    assert request_row(db, public_id).status == word  # a late checkout expires it
    # Back to the shop, which is told what became of it (not only "your wallet").
    back = page.html.select_one("#leave-link")
    assert back is not None and back.text == "Back to Dosa Corner"
    assert back["href"].endswith(f"payment_request_id={public_id}&status={word}")


def test_unknown_requests_are_404(user_app, db, shop, asha):
    real = create(db, shop)
    login(user_app, ASHA)
    for public_id in ("pr_doesnotexist000000000", "x" * 300, "1", real + "x" * 40, real[:-1]):
        assert "No such payment request" in user_app.get(f"/checkout/{public_id}",
                                                         status=404).text
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      user_app.get("/dashboard").text).group(1)
    before = state(db)
    user_app.post("/checkout/pr_doesnotexist000000000",
                  {"csrf_token": token, "request_key": "k" * 22}, status=404)
    assert state(db) == before


def test_not_enough_money_shows_the_form_with_a_way_to_add_some(user_app, db, shop, ravi):
    public_id = create(db, shop)
    login(user_app, RAVI)
    page = user_app.get(f"/checkout/{public_id}")
    assert 'id="available">₹0.00<' in page.text and 'href="http://localhost/add-money"' in page.text
    before = state(db)
    refused = pin_form(page, "checkout-form").submit(status=400)
    assert "Your available balance is ₹0.00: not enough to pay ₹250.00." in refused.text
    assert 'id="add-money"' in refused.text and "checkout-form" in refused.text
    assert state(db) == before
    assert request_row(db, public_id).status == RequestStatus.CREATED


def test_not_enough_money_adds_the_shortfall_and_comes_back(user_app, db, shop, ravi):
    public_id = create(db, shop)
    login(user_app, RAVI)
    link = user_app.get(f"/checkout/{public_id}").html.select_one("#add-money-link")
    assert link.text == "Add ₹250.00"
    form = user_app.get(link["href"]).forms["add-money-form"]
    assert form["amount"].value == "250.00" and form["then"].value == public_id
    to_bank = form.submit(status=303).location
    back = parse_qs(urlsplit(to_bank).query)["return_url"][0]
    assert back.endswith(f"?then={public_id}"), back
    with db() as session, session.begin():
        tx = session.scalar(select(Transaction).where(Transaction.kind == "deposit"))
        deposit_service(session, TEST_BANKS).settle(
            tx.token, "success", bank_code="hdfc", amount_paise=250_00, currency="INR",
            source="test")
    page = user_app.get(back)
    assert page.html.select_one("#back-to-checkout")["href"].endswith(f"/checkout/{public_id}")
    # A forged way back is not followed: only a payment request's id.
    forged = user_app.get("/add-money?then=https://evil.example&amount=1e9")
    assert forged.forms["add-money-form"]["amount"].value == ""
    assert "then" not in forged.forms["add-money-form"].fields


def test_an_open_checkout_can_be_left_for_the_shop(user_app, db, shop, asha):
    public_id = create(db, shop)
    login(user_app, ASHA)
    leave = user_app.get(f"/checkout/{public_id}").html.select_one("#leave-link")
    assert leave.text == "Cancel and return to Dosa Corner"
    assert leave["href"].endswith(f"payment_request_id={public_id}&status=abandoned")
    assert request_row(db, public_id).status == RequestStatus.CREATED  # still payable


def test_without_a_return_url_the_receipt_is_shown(user_app, db, shop, asha):
    public_id = create(db, shop, return_url=None)
    login(user_app, ASHA)
    done = confirm(user_app, public_id, status=303)
    assert re.fullmatch(r"http://localhost/transactions/\d+\?sent=1", done.location)
    receipt = done.follow()
    assert "Paid!" in receipt.text and "Dosa Corner (@dosa-corner)" in receipt.text
    assert "2 masala dosa" in receipt.text


def test_a_return_origin_removed_since_is_not_followed(user_app, db, shop, asha):
    public_id = create(db, shop, return_url="https://m.shop.example/done")
    with db() as session, session.begin():
        session.get(Merchant, shop).return_origins = "https://shop.example"
    login(user_app, ASHA)
    assert "/transactions/" in confirm(user_app, public_id, status=303).location


def test_a_return_url_without_a_query_gets_one(user_app, db, shop, asha):
    public_id = create(db, shop, return_url="https://shop.example/done#top")
    login(user_app, ASHA)
    location = confirm(user_app, public_id, status=303).location
    assert location == f"https://shop.example/done?payment_request_id={public_id}&status=paid#top"


def test_forged_or_stale_forms_move_nothing(user_app, db, shop, asha):
    public_id = create(db, shop)
    login(user_app, ASHA)
    page = user_app.get(f"/checkout/{public_id}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    before = state(db)
    user_app.post(f"/checkout/{public_id}", {"request_key": "k" * 22}, status=400)  # no CSRF
    stale = user_app.post(f"/checkout/{public_id}", {"csrf_token": token, "request_key": "?"},
                          status=400)
    assert "out of date" in stale.text
    assert state(db) == before and request_row(db, public_id).status == RequestStatus.CREATED


def test_logged_out_confirmation_moves_nothing(user_app, db, shop, asha):
    public_id = create(db, shop)
    token = re.search(r'name="csrf_token" value="([^"]+)"', user_app.get("/login").text).group(1)
    before = state(db)
    assert "/login" in user_app.post(f"/checkout/{public_id}",
                                     {"csrf_token": token, "request_key": "k" * 22},
                                     status=303).location
    assert state(db) == before


def test_concurrent_confirmations_over_http_pay_once(user_wsgi, db, shop, asha):
    """Eight clicks at once by the payer, and a second payer racing her: the
    request's row lock lets one payment through; her clicks all go back to
    the shop, his is told it was paid."""
    from concurrent.futures import ThreadPoolExecutor

    import webtest

    from ..live_servers import http, serving

    public_id = create(db, shop)
    meera = make_user(db, "+919988776655", "Meera", deposit_paise=500_00)
    sessions = []
    for phone in (ASHA, "+919988776655"):
        app = webtest.TestApp(user_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
        login(app, phone)
        page = app.get(f"/checkout/{public_id}")
        sessions.append({
            "Cookie": f"wallet_user={app.cookies['wallet_user']}",
            "form": {"csrf_token": pin_form(page, "checkout-form")["csrf_token"].value,
                     "request_key": pin_form(page, "checkout-form")["request_key"].value,
                     "pin": PIN}})
    asha_session, meera_session = sessions
    with serving(user_wsgi, threads=9) as base, ThreadPoolExecutor(9) as pool:
        def confirm_as(session):
            return http("POST", f"{base}/checkout/{public_id}", form=session["form"],
                        headers={"Cookie": session["Cookie"]})
        replies = list(pool.map(confirm_as, [asha_session] * 4 + [meera_session]
                                + [asha_session] * 4))
    meeras = replies.pop(4)
    paid_by = request_row(db, public_id).payer_user_id
    if paid_by == asha:
        assert {r.status for r in replies} == {303}, [r.body[-300:] for r in replies]
        assert len({r.headers["Location"] for r in replies}) == 1
        assert meeras.status == 409 and b"already been paid" in meeras.body
        assert balance(db, asha) == (750_00, 0) and balance(db, meera) == (500_00, 0)
    else:  # Meera's click won the lock: Asha's all say it was paid
        assert paid_by == meera and meeras.status == 303
        assert {r.status for r in replies} == {409}
        assert balance(db, asha) == (1_000_00, 0) and balance(db, meera) == (250_00, 0)
    assert merchant_balance(db, shop) == 250_00
    assert_books_clean(db)
