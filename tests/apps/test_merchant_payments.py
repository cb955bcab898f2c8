"""The merchant app's payments page and CSV: totals, search, states, stores;
bad filters answered on the page with a clear message (#10: the CSV with bad
dates was a bare "400 Bad Request"), nothing written."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from wallet.core.models import MerchantStore, Transaction

from ..wallet_helpers import state
from .test_merchant_app import (  # noqa: F401
    make_merchant,
    merchant_app,
    merchant_login,
    merchant_wsgi,
    pay_at,
)
from .test_refunds_app import refund_at

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
DAY = dt.datetime(2026, 10, 5, 12, 0, tzinfo=IST)


@pytest.fixture
def shop(db):
    return make_merchant(db)


@pytest.fixture
def logged_in(merchant_app, shop):  # noqa: F811
    assert merchant_login(merchant_app).status_int == 303
    return merchant_app


@pytest.fixture
def paid(db, shop, asha, ravi):
    """Asha paid ₹100 (₹40 refunded) and ₹200; Ravi ₹300 at the airport kiosk."""
    pay_at(db, asha, "chai-point", 100_00, DAY, "form-key-page-000001")
    pay_at(db, asha, "chai-point", 200_00, DAY + dt.timedelta(hours=1), "form-key-page-000002")
    pay_at(db, ravi, "chai-point", 300_00, DAY + dt.timedelta(hours=2), "form-key-page-000003")
    with db() as session, session.begin():
        kiosk = MerchantStore(merchant_id=shop, name="Airport kiosk", handle="chai-airport",
                              created_at=DAY)
        session.add(kiosk)
        session.flush()
        ids = list(session.scalars(select(Transaction.id).where(
            Transaction.kind == "payment").order_by(Transaction.id)))
        session.execute(update(Transaction).where(Transaction.id == ids[2])
                        .values(payee_store_id=kiosk.id))
    refund_at(db, shop, ids[0], 40_00, DAY, "form-key-page-refund1")
    return {"ids": ids, "kiosk": kiosk.id}


@pytest.fixture
def asha(db):
    from ..wallet_helpers import make_user

    return make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)


@pytest.fixture
def ravi(db):
    from ..wallet_helpers import make_user

    return make_user(db, "+919812345678", "Ravi Kumar", deposit_paise=1_000_00)


def text_of(page, element_id):
    return page.html.find(id=element_id).get_text(" ", strip=True)


def test_the_list_has_totals_states_and_stores(logged_in, paid):
    page = logged_in.get("/payments")
    assert text_of(page, "total-count") == "3" and text_of(page, "total-gross") == "₹600.00"
    assert text_of(page, "total-refunded") == "₹40.00" and text_of(page, "total-net") == "₹560.00"
    rows = page.html.find(id="payments").find("tbody").find_all("tr")
    assert [(r.find(class_="store").get_text(strip=True), r.find(class_="state")["data-state"])
            for r in rows] == [("Airport kiosk", "paid"), ("Chai Point", "paid"),
                               ("Chai Point", "partly_refunded")]
    kiosk = logged_in.get(f"/payments?store={paid['kiosk']}")
    assert text_of(kiosk, "total-count") == "1" and text_of(kiosk, "total-gross") == "₹300.00"
    assert f"store={paid['kiosk']}" in kiosk.html.find(id="csv-link")["href"]


def test_search_and_its_csv(logged_in, paid):
    page = logged_in.get("/payments", {"q": "98123 45678"})
    assert text_of(page, "total-count") == "1" and "₹300.00" in text_of(page, "payments")
    by_name = logged_in.get("/payments", {"q": "asha", "from": "2026-10-05"})
    assert text_of(by_name, "total-gross") == "₹300.00"
    csv_href = by_name.html.find(id="csv-link")["href"]
    assert "q=asha" in csv_href and "from=2026-10-05" in csv_href
    lines = logged_in.get(csv_href).text.strip().splitlines()
    assert len(lines) == 3 and all(",Chai Point" in line for line in lines[1:])
    reference = f"TXN{paid['ids'][1]:08d}"
    found = logged_in.get("/payments", {"q": reference})
    assert text_of(found, "total-count") == "1" and "₹200.00" in text_of(found, "payments")
    nothing = logged_in.get("/payments", {"q": "nobody"})
    assert "No payments match this search." in nothing.text


@pytest.mark.parametrize("path", ["/payments", "/payments.csv"])
@pytest.mark.parametrize("query, field, message", [
    ({"from": "yesterday"}, "from", "Enter a date like 2026-11-24."),
    ({"from": "2026-10-09", "to": "2026-10-01"}, "to", "is before “From”"),
    ({"q": "12"}, "q", "4 to 10 digits"), ({"q": "50%"}, "q", "cannot be searched"),
    ({"q": "x" * 80}, "q", "ordinary characters"),
    ({"store": "abc"}, "store", "Choose one of your stores"),
    ({"store": "999999"}, "store", "Choose one of your stores"),
])
def test_bad_filters_are_answered_on_the_page(db, logged_in, paid, path, query, field,
                                              message):
    before = state(db)
    page = logged_in.get(path, query, status=400)
    assert page.content_type == "text/html"  # the page, not a bare framework error
    assert "<h1>Payments received</h1>" in page.text and 'id="filter-form"' in page.text
    assert message in text_of(page, f"{field}-error")
    assert 'id="payments"' not in page.text and 'id="csv-link"' not in page.text
    assert state(db) == before


def test_another_shops_store_is_refused(db, logged_in, paid):
    other = make_merchant(db, "dosa-corner", "Dosa Corner", "dosa@example.com")
    with db() as session:
        theirs = session.scalar(select(MerchantStore.id).where(
            MerchantStore.merchant_id == other))
    page = logged_in.get("/payments.csv", {"store": str(theirs)}, status=400)
    assert "Choose one of your stores" in page.text


def test_a_shop_with_one_store_sees_no_store_column(logged_in, db, shop, asha):
    pay_at(db, asha, "chai-point", 100_00, DAY, "form-key-page-000009")
    page = logged_in.get("/payments")
    assert 'id="store"' not in page.text and 'class="store"' not in page.text
    assert 'data-state="paid"' in page.text
