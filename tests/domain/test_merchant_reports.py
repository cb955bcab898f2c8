"""A shop's payments as its list, CSV and dashboard find them
(wallet.merchants.reports): totals of what was found, each payment's state,
the stores (a payment without one is the first store's), and the search box
read strictly (wallet.merchants.payment_search)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from wallet.core.codes import DisputeReason, DisputeStatus
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, MerchantStore, Transaction, User
from wallet.identity.accounts import AccountService
from wallet.merchants.models import Dispute
from wallet.merchants.payment_search import SearchBy, parse_search
from wallet.merchants.reports import MerchantReports, PaymentState

from ..wallet_helpers import PASSWORD, PIN, make_user, payment_requests, refunds
from ..wallet_helpers import shop_payments_service as shop_payments

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
DAY = dt.datetime(2026, 11, 10, 12, 0, tzinfo=IST)


@pytest.fixture
def shop(db) -> int:
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", PASSWORD)
        session.flush()
        session.add(MerchantStore(merchant_id=merchant.id, name="Airport kiosk",
                                  handle="chai-airport", created_at=DAY))
        return merchant.id


@pytest.fixture
def people(db) -> dict[str, int]:
    return {"asha": make_user(db, "+919876543210", "Asha Verma", deposit_paise=5_000_00),
            "ravi": make_user(db, "+919812345678", "Ravi Kumar", deposit_paise=5_000_00)}


def stores(db, shop) -> list[int]:
    with db() as session:
        return list(session.scalars(select(MerchantStore.id).where(
            MerchantStore.merchant_id == shop).order_by(MerchantStore.id)))


def pay(db, user_id, amount_paise, key, when=DAY, store_id=None) -> int:
    with db() as session, session.begin():
        tx = shop_payments(session, clock=lambda: when).pay_merchant(
            session.get(User, user_id), "chai-point", amount_paise, key, "", pin=PIN)
        if store_id is not None:  # (another helper makes payments name their store)
            session.execute(update(Transaction).where(Transaction.id == tx.id)
                            .values(payee_store_id=store_id))
        return tx.id


def refund(db, shop, payment_id, amount_paise, key, when=DAY) -> None:
    with db() as session, session.begin():
        refunds(session, clock=lambda: when).refund(session.get(Merchant, shop), payment_id,
                                                    amount_paise, key)


def dispute(db, shop, payment_id, user_id, status=DisputeStatus.OPEN) -> None:
    with db() as session, session.begin():
        session.add(Dispute(public_id=f"dp_test{payment_id}", merchant_id=shop,
                            payment_transaction_id=payment_id, customer_user_id=user_id,
                            reason=DisputeReason.NOT_DELIVERED, status=status,
                            disputed_paise=10_00, held_paise=0, respond_by=DAY,
                            created_at=DAY, updated_at=DAY))


@pytest.fixture
def book(db, shop, people) -> dict[str, int]:
    """Five payments: Asha's paid, partly refunded, refunded, disputed (the
    first store: two of them without a store); Ravi's at the airport kiosk."""
    first, kiosk = stores(db, shop)
    asha, ravi = people["asha"], people["ravi"]
    ids = {"paid": pay(db, asha, 100_00, "form-key-book-000001"),
           "partly": pay(db, asha, 200_00, "form-key-book-000002", store_id=first),
           "refunded": pay(db, asha, 300_00, "form-key-book-000003"),
           "disputed": pay(db, asha, 400_00, "form-key-book-000004", store_id=first),
           "kiosk": pay(db, ravi, 500_00, "form-key-book-000005", store_id=kiosk)}
    refund(db, shop, ids["partly"], 50_00, "form-key-refund-00001")
    refund(db, shop, ids["refunded"], 300_00, "form-key-refund-00002")
    dispute(db, shop, ids["disputed"], asha)
    return {**ids, "first_store": first, "kiosk_store": kiosk}


def found(db, shop, **kwargs):
    with db() as session:
        reports = MerchantReports(session)
        merchant = session.get(Merchant, shop)
        page = reports.payments(merchant, **kwargs)
        totals = reports.totals(merchant, **{k: v for k, v in kwargs.items()
                                             if k not in ("cursor", "limit")})
        return page, totals


def test_each_payment_has_its_state_and_store(db, shop, book):
    page, totals = found(db, shop)
    states = {row.payment.id: (row.state, row.store_name, row.refunded_paise)
              for row in page.rows}
    assert states == {
        book["paid"]: (PaymentState.PAID, "Chai Point", 0),
        book["partly"]: (PaymentState.PARTLY_REFUNDED, "Chai Point", 50_00),
        book["refunded"]: (PaymentState.REFUNDED, "Chai Point", 300_00),
        book["disputed"]: (PaymentState.DISPUTED, "Chai Point", 0),
        book["kiosk"]: (PaymentState.PAID, "Airport kiosk", 0)}
    assert [row.payment.id for row in page.rows] == sorted(states, reverse=True)
    assert (totals.count, totals.gross_paise, totals.refunded_paise, totals.net_paise) == (
        5, 1_500_00, 350_00, 1_150_00)
    assert page.refunded == {book["partly"]: 50_00, book["refunded"]: 300_00}


@pytest.mark.parametrize("status, state", [
    (DisputeStatus.CONTESTED, PaymentState.DISPUTED), (DisputeStatus.WON, PaymentState.PAID)])
def test_a_decided_dispute_is_not_disputed_any_more(db, shop, book, status, state):
    with db() as session, session.begin():
        session.execute(update(Dispute).values(status=status))
    page, _ = found(db, shop)
    assert next(r for r in page.rows if r.payment.id == book["disputed"]).state == state


def test_the_store_filter_counts_payments_without_a_store_as_the_first(db, shop, book):
    page, totals = found(db, shop, store_ids=[book["first_store"]])
    assert {row.payment.id for row in page.rows} == {
        book["paid"], book["partly"], book["refunded"], book["disputed"]}
    assert (totals.count, totals.gross_paise, totals.refunded_paise) == (4, 1_000_00, 350_00)
    page, totals = found(db, shop, store_ids=[book["kiosk_store"]])
    assert [row.payment.id for row in page.rows] == [book["kiosk"]]
    assert (totals.count, totals.gross_paise) == (1, 500_00)
    page, totals = found(db, shop, store_ids=[])  # a scope of no stores sees nothing
    assert page.rows == [] and totals.count == 0
    page, _ = found(db, shop, store_ids=[book["first_store"], book["kiosk_store"]])
    assert len(page.rows) == 5


@pytest.mark.parametrize("typed, names", [
    ("43210", {"paid", "partly", "refunded", "disputed"}),  # Asha's phone's last digits
    ("98123 45678", {"kiosk"}),  # Ravi's whole number
    ("+91 98123 45678", {"kiosk"}),
    ("ravi", {"kiosk"}), ("VERMA", {"paid", "partly", "refunded", "disputed"}),
    ("nobody", set()), ("0000", set()),
])
def test_search_by_phone_and_name(db, shop, book, typed, names):
    page, totals = found(db, shop, search=parse_search(typed))
    assert {row.payment.id for row in page.rows} == {book[name] for name in names}
    assert totals.count == len(names)


def test_search_by_reference_and_order(db, shop, book, people):
    search = parse_search(f"TXN{book['partly']:08d}")
    assert search is not None and search.by == SearchBy.REFERENCE
    page, totals = found(db, shop, search=search)
    assert [row.payment.id for row in page.rows] == [book["partly"]]
    assert (totals.gross_paise, totals.refunded_paise) == (200_00, 50_00)
    from wallet.merchants.payment_requests import NewRequest  # a checkout's order reference
    with db() as session, session.begin():
        request, _ = payment_requests(session).create(session.get(Merchant, shop),
                                                      NewRequest("70707070", 60_00, "chai"))
        public_id = request.public_id
    with db() as session, session.begin():
        paid = payment_requests(session).pay(session.get(User, people["ravi"]), public_id,
                                             pin=PIN)
        order_payment = paid.transaction_id
    page, _ = found(db, shop, search=parse_search("70707070"))  # digits: an order too
    assert [row.payment.id for row in page.rows] == [order_payment]
    page, _ = found(db, shop, search=parse_search(f"TXN{order_payment}"))
    assert [row.payment.id for row in page.rows] == [order_payment]


def test_search_and_store_and_dates_together(db, shop, book, people):
    late = pay(db, people["ravi"], 70_00, "form-key-book-000006",
               when=DAY + dt.timedelta(days=3), store_id=book["kiosk_store"])
    page, totals = found(db, shop, search=parse_search("ravi"), store_ids=[book["kiosk_store"]],
                         start=dt.date(2026, 11, 12))
    assert [row.payment.id for row in page.rows] == [late]
    assert totals.gross_paise == 70_00


def test_paging_keeps_the_filters_and_the_totals_count_every_page(db, shop, book):
    page, totals = found(db, shop, store_ids=[book["first_store"]], limit=3)
    assert len(page.rows) == 3 and page.next_cursor is not None and totals.count == 4
    rest, _ = found(db, shop, store_ids=[book["first_store"]], limit=3, cursor=page.next_cursor)
    assert [row.payment.id for row in rest.rows] == [book["paid"]] and rest.next_cursor is None


def test_the_csv_has_the_state_and_store_and_keeps_the_filters(db, shop, book):
    with db() as session:
        lines = list(MerchantReports(session).payments_csv(
            session.get(Merchant, shop), None, None, store_ids=[book["kiosk_store"]]))
    assert lines[0].strip() == ("reference,time_ist,payer,note,amount_inr,refunded_inr,"
                                "status,store")
    assert len(lines) == 2 and lines[1].strip().endswith(",500.00,0.00,paid,Airport kiosk")
    with db() as session:
        lines = list(MerchantReports(session).payments_csv(
            session.get(Merchant, shop), None, None, search=parse_search("43210")))
    assert sorted(line.strip().rsplit(",", 2)[1] for line in lines[1:]) == [
        "disputed", "paid", "partly_refunded", "refunded"]


def test_the_dashboard_of_a_store(db, shop, book):
    with db() as session:
        reports = MerchantReports(session)
        merchant = session.get(Merchant, shop)
        whole = reports.dashboard(merchant, DAY.date())
        kiosk = reports.dashboard(merchant, DAY.date(), store_ids=[book["kiosk_store"]])
        first = reports.dashboard(merchant, DAY.date(), store_ids=[book["first_store"]])
    assert (whole.today.gross_paise, whole.today.refunds_paise) == (1_500_00, 350_00)
    assert whole.today.closing_balance_paise == 1_150_00
    assert (kiosk.today.gross_paise, kiosk.today.refunds_paise, kiosk.today.payments) == (
        500_00, 0, 1)
    assert (first.today.gross_paise, first.today.refunds_paise, first.today.refunds) == (
        1_000_00, 350_00, 2)
    assert kiosk.today.closing_balance_paise is None  # a balance is the shop's, not a store's


@pytest.mark.parametrize("typed, message", [
    ("12", "4 to 10 digits"), ("98765432101", "4 to 10 digits"), ("x", "cannot be searched"),
    ("50%", "cannot be searched"), ("a_b%", "cannot be searched"),
    ("bell\x07", "ordinary characters"), ("a" * 65, "ordinary characters"),
    ("TXN 12%", "cannot be searched"),
])
def test_search_input_is_strict(typed, message):
    with pytest.raises(WalletError) as refused:
        parse_search(typed)
    assert message in str(refused.value) and refused.value.errors.get("q")


def test_nothing_typed_is_no_search():
    assert parse_search("") is None and parse_search("   ") is None and parse_search(None) is None
    assert parse_search("  Asha   Verma ").value == "Asha Verma"
    assert parse_search("txn 00000042").transaction_id == 42
