"""Monthly statements: every kind of movement reconciles; CSV and PDF agree;
bad months are refused; a user sees only their own statement."""
from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pytest
from pypdf import PdfReader

from ledgerlib import format_paise, parse_amount, to_decimal_string
from wallet.banking.payouts import PayoutPolicy
from wallet.core.codes import IST
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, User
from wallet.identity.accounts import AccountService
from wallet.money.statement_files import statement_csv, statement_pdf
from wallet.money.statements import Month, StatementDoesNotReconcile, Statements

from ..api_helpers import auth, sign_in
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    TEST_BANKS,
    deposit_service,
    login,
    make_user,
    payout_processor,
    refunds,
    shop_payments_service,
    transfers_service,
    withdrawal_service,
)
from .test_withdrawals import ScriptedBank

ASHA, RAVI = "+919876543210", "+919812345678"
OCTOBER = Month(2026, 10)
AFTER = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
FAST = PayoutPolicy(lease_s=30, retry_budget=3, backoff_base_s=0.0, backoff_cap_s=0.0)


def ist(day: int, hour: int = 12, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=IST)


def key(n: int) -> str:
    return f"statement-key-{n:06d}"


@pytest.fixture
def october(db, runner):
    """Asha's October: a deposit, a transfer in and out, a shop payment and its
    partial refund, a withdrawal paid then returned by the bank, another paid;
    ₹1,000 before the month and a transfer just after it (IST midnight)."""
    asha, ravi = make_user(db, ASHA, "Asha Verma"), make_user(db, RAVI, "Ravi Kumar")
    at = {"now": ist(20, month=9)}

    def clock() -> dt.datetime:
        return at["now"]

    def step(when: dt.datetime, fn) -> object:
        at["now"] = when
        with db() as session, session.begin():
            return fn(session)

    def deposit(user_id: int, amount: int, n: int):
        return lambda s: deposit_service(s, TEST_BANKS, clock=clock).record_completed(
            s.get(User, user_id), "hdfc", amount, key(n)).id

    def send(src: int, phone: str, amount: int, n: int, note: str = ""):
        return lambda s: transfers_service(s, clock=clock).send_money(
            s.get(User, src), phone, amount, key(n), note, pin=PIN).id

    def shop(s):
        merchant = AccountService(s, bcrypt_rounds=4).signup_merchant(
            "dosa-corner", "Dosa Corner", "dosa@example.com", PASSWORD)
        return merchant.id

    def withdraw(amount: int, n: int):
        return lambda s: withdrawal_service(s, TEST_BANKS, clock=clock).request(
            s.get(User, asha), "hdfc", "50100012345678", "HDFC0001234", amount, key(n),
            pin=PIN).id

    def pay_out(when: dt.datetime) -> None:
        at["now"] = when
        payout_processor(runner, TEST_BANKS, ScriptedBank(), FAST, clock=clock,
                        rng=random.Random(1)).drain(asha, "w1")

    step(ist(20, month=9), deposit(asha, 1_000_00, 1))
    step(ist(20, month=9), deposit(ravi, 1_000_00, 2))
    merchant_id = step(ist(20, month=9), shop)
    step(ist(1, hour=0), deposit(asha, 500_00, 3))  # 00:00 IST: the month's first instant
    step(ist(3), send(ravi, ASHA, 200_00, 4, "for dinner"))
    step(ist(4), send(asha, RAVI, 100_00, 5, "=SUM(A1)"))
    payment = step(ist(5), lambda s: shop_payments_service(s, clock=clock).pay_merchant(
        s.get(User, asha), "dosa-corner", 250_00, key(6), "two dosas", pin=PIN).id)
    step(ist(6), lambda s: refunds(s, clock=clock).refund(
        s.get(Merchant, merchant_id), payment, 50_00, key(7), "cold"))
    returned = step(ist(7), withdraw(300_00, 8))
    pay_out(ist(7, hour=13))
    step(ist(8), lambda s: withdrawal_service(s, TEST_BANKS, clock=clock).settle_by_reference(
        f"wd_{returned}", "reversed", bank_code="hdfc", amount_paise=300_00, currency="INR",
        source="webhook"))
    step(ist(9), withdraw(100_00, 9))
    pay_out(ist(9, hour=13))
    step(ist(12), withdraw(50_00, 10))  # requested, never paid: held, not a movement
    step(ist(1, hour=0, month=11), send(asha, RAVI, 7_00, 11))  # November already
    return asha, ravi


def statement_of(db, user_id: int, month: Month = OCTOBER):
    with db() as session:
        return Statements(session, clock=lambda: AFTER).for_month(
            session.get(User, user_id), month)


def test_a_month_with_every_kind_of_movement_reconciles(db, october):
    statement = statement_of(db, october[0])
    changes = [(line.kind, line.change_paise) for line in statement.lines]
    assert changes == [
        ("Deposit", 500_00), ("Transfer", 200_00), ("Transfer", -100_00),
        ("Payment", -250_00), ("Refund from shop", 50_00), ("Withdrawal", -300_00),
        ("Withdrawal returned", 300_00), ("Withdrawal", -100_00)]
    assert (statement.opening_paise, statement.closing_paise) == (1_000_00, 1_300_00)
    assert statement.closing_paise - statement.opening_paise == sum(c for _, c in changes)
    assert statement.lines[-1].balance_paise == statement.closing_paise
    assert (statement.money_in_paise, statement.money_out_paise) == (1_050_00, 750_00)
    by_kind = {line.kind: line for line in statement.lines}
    assert by_kind["Transfer"].counterparty == "Ravi Kumar (+91 ••••• 45678)"
    assert by_kind["Payment"].counterparty == "Dosa Corner (@dosa-corner)"
    assert by_kind["Deposit"].counterparty == "Your HDFC bank account"
    # November starts at midnight IST: its transfer is not October's.
    november = statement_of(db, october[0], Month(2026, 11))
    assert november.opening_paise == statement.closing_paise
    assert [line.change_paise for line in november.lines] == [-7_00]


def test_a_statement_that_does_not_reconcile_is_refused(db, october, monkeypatch):
    import wallet.money.statements as statements

    real = statements.posted_balance_at
    monkeypatch.setattr(statements, "posted_balance_at",
                        lambda s, code, at: real(s, code, at) + (1 if at == AFTER else 0))
    with pytest.raises(StatementDoesNotReconcile):
        statement_of(db, october[0], Month(2026, 11))


def test_the_pdf_opens_and_its_totals_match_the_csv(db, october):
    statement = statement_of(db, october[0])
    raw = statement_csv(statement)
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read UTF-8 (₹, •)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    summary = {row[2]: row for row in rows[2:] if row[2] in (
        "Opening balance", "Closing balance", "Money in", "Money out")}
    assert summary["Opening balance"][6] == "1000.00"
    assert summary["Closing balance"][6] == "1300.00"
    assert (summary["Money in"][5], summary["Money out"][5]) == ("1050.00", "-750.00")
    assert rows[1][0] == "date_ist" and len(rows) == 2 + 1 + 8 + 3
    assert "'=SUM(A1)" in raw.decode("utf-8")  # a typed note is never a formula
    assert "+91 ••••• 45678" in raw.decode("utf-8")

    text = " ".join(page.extract_text() for page in PdfReader(
        io.BytesIO(statement_pdf(statement))).pages)
    text = " ".join(text.split())
    for label, figure in (("Opening balance", "1000.00"), ("Closing balance", "1300.00"),
                          ("Money in", "1050.00"), ("Money out", "-750.00")):
        csv_figure = summary[label][6] or summary[label][5]  # the CSV's own figure
        assert csv_figure == figure
        shown = format_paise(parse_amount(figure.lstrip("-")))
        assert f"{label} {shown}" in text, (label, shown, text[-300:])
    assert "Ravi Kumar" in text and "Withdrawal returned" in text
    assert to_decimal_string(statement.closing_paise) == summary["Closing balance"][6]


def test_bad_months_are_refused():
    now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc)
    for bad in ("2026-13", "2026-00", "26-10", "2026-1", "1999-12", "2026-12", "2026-10-01",
                "２０２６-10", "", "2026/10"):
        with pytest.raises(WalletError, match="month|Choose"):
            Month.parse(bad, now=now)
    assert Month.parse("2026-11", now=now) == Month(2026, 11)


def test_the_api_gives_json_csv_and_pdf_and_refuses_bad_months(api, db, october):
    token = sign_in(api, ASHA)
    month = dt.datetime.now(IST).strftime("%Y-%m")
    reply = api.get(f"/v1/statements/{month}", headers=auth(token), status=200)
    body = reply.json
    assert body["month"] == month and body["closing_balance"]["amount_paise"] == sum(
        line["amount"]["amount_paise"] for line in body["lines"]) + body[
            "opening_balance"]["amount_paise"]
    october_json = api.get("/v1/statements/2026-10", headers=auth(token), status=200).json
    assert october_json["closing_balance"]["display"] == "₹1,300.00"
    assert len(october_json["lines"]) == 8
    as_csv = api.get("/v1/statements/2026-10?format=csv", headers=auth(token), status=200)
    assert as_csv.content_type == "text/csv" and as_csv.body.startswith(b"\xef\xbb\xbf")
    as_pdf = api.get("/v1/statements/2026-10", headers={**auth(token),
                                                        "Accept": "application/pdf"})
    assert as_pdf.content_type == "application/pdf" and as_pdf.body.startswith(b"%PDF")
    assert "attachment" in as_pdf.headers["Content-Disposition"]
    for bad, status in (("2026-13", 404), ("20261", 404), ("1999-12", 400), ("2999-01", 400)):
        problem = api.get(f"/v1/statements/{bad}", headers=auth(token), status=status)
        assert problem.content_type == "application/problem+json"
    api.get("/v1/statements/2026-10?format=xls", headers=auth(token), status=400)
    api.get("/v1/statements/2026-10", status=401)


def test_another_users_statement_is_unreachable(api, user_app, db, october):
    """There is no user in the address: each sees their own, whatever they add."""
    ravi_token = sign_in(api, RAVI)
    ravi = api.get("/v1/statements/2026-10?user_id=1", headers=auth(ravi_token)).json
    assert ravi["name"] == "Ravi Kumar"
    assert [line["amount"]["amount_paise"] for line in ravi["lines"]] == [-200_00, 100_00]
    login(user_app, RAVI)
    page = user_app.get("/statement", params={"month": "2026-10", "format": "csv",
                                              "user": str(october[0])}, status=200)
    text = page.body.decode("utf-8-sig")
    assert "Ravi Kumar" in text and "Asha" in text  # Asha only as his counterparty
    assert "Dosa Corner" not in text


def test_the_history_page_offers_the_statement_and_refuses_bad_months(user_app, db, october):
    login(user_app, ASHA)
    page = user_app.get("/transactions")
    form = page.forms["statement-form"]
    form["month"] = "2026-10"
    pdf = form.submit("format", value="pdf", status=200)
    assert pdf.content_type == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.body))
    assert "Closing balance ₹1,300.00" in " ".join(reader.pages[-1].extract_text().split())
    form["month"] = "2026-10"
    assert form.submit("format", value="csv").body.startswith(b"\xef\xbb\xbf")
    bad = user_app.get("/statement", params={"month": "2026-13", "format": "pdf"}, status=400)
    assert "Choose a month" in bad.text and 'id="statement-form"' in bad.text
    user_app.get("/statement", params={"month": "2999-01"}, status=400)
