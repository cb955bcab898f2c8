"""The second bank protocol (Ledgerline) beside the standard one: its own
signature scheme and body, read strictly, under the same rules (source
networks, the 5-minute window, each event id once). Every refused call is
stored and changes nothing else."""
from __future__ import annotations

import datetime as dt
import io
import json
import time
import urllib.error
from unittest import mock

import pytest
import webtest
from sqlalchemy import func, select

import webhook_app
from fake_bank.sender import ledgerline_headers
from wallet.banking.bank_client import BankClient, BankUnavailable
from wallet.banking.banks import load_banks
from wallet.banking.models import WebhookAttempt, WebhookEvent
from wallet.banking.protocols import PROTOCOLS, protocol_for
from wallet.banking.protocols.amounts import AmountError, money_from_paise, paise_from_money
from wallet.banking.protocols.rules import SignatureError, check_signature
from wallet.core.ini import ConfigurationError
from wallet.core.models import Transaction, User
from wallet.core.observe import NO_OBSERVER

from ..conftest import BANK_SETTINGS, dispose_app_engine
from ..ledgerline_helpers import (
    BANKS,
    ICICI_IP,
    ICICI_OLD_SECRET,
    ICICI_SECRET,
    LEDGERLINE_BANK,
    ll_event,
    ll_headers,
    ll_signature,
)
from ..wallet_helpers import balance, deposit_service, state, sweep_stuck_deposits
from .test_webhooks import HDFC_SECRET, sign

LEDGERLINE = PROTOCOLS["ledgerline"]


@pytest.fixture
def webhook(web_settings):
    app = webhook_app.main({}, **{**web_settings, **LEDGERLINE_BANK,
                                  "banks.enabled": "hdfc axis icici"})
    yield webtest.TestApp(app)
    dispose_app_engine(app)


@pytest.fixture
def deposit(db, user_id):
    """A pending ₹500.50 deposit via ICICI (Ledgerline); returns its token."""
    with db() as session, session.begin():
        return deposit_service(session, BANKS).start(
            session.get(User, user_id), "icici", 500_50, "form-key-ll-0000001").token


def post(app, body: bytes, *, headers=None, bank="icici", ip=ICICI_IP, **signing):
    return app.post(f"/webhooks/{bank}", body, status="*", extra_environ={"REMOTE_ADDR": ip},
                    headers=ll_headers(body, **signing) if headers is None else headers)


def deposit_row(db, token):
    with db() as session:
        return session.scalar(select(Transaction).where(Transaction.token == token))


def attempts(db) -> list[tuple[int, str]]:
    with db() as session:
        return [(a.http_status, a.verdict) for a in
                session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))]


def events_recorded(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent))


# ------------------------------------------------------- amounts, strictly


@pytest.mark.parametrize("value, paise", [
    ("0.01", 1), ("10.50", 10_50), ("500.50", 500_50), ("1000.00", 1_000_00),
    ("9999999999999.99", 999_999_999_999_999)])
def test_decimal_string_amounts_read_exactly_into_paise(value, paise):
    assert paise_from_money({"value": value, "currency": "INR"}, "amount") == paise
    assert money_from_paise(paise) == {"value": value, "currency": "INR"}


@pytest.mark.parametrize("money, why", [
    ({"value": "10.5", "currency": "INR"}, "exactly two decimals"),
    ({"value": "1e3", "currency": "INR"}, "exactly two decimals"),
    ({"value": "-10.50", "currency": "INR"}, "exactly two decimals"),
    ({"value": "+10.50", "currency": "INR"}, "exactly two decimals"),
    ({"value": "10.505", "currency": "INR"}, "exactly two decimals"),
    ({"value": "010.50", "currency": "INR"}, "exactly two decimals"),
    ({"value": "1,000.00", "currency": "INR"}, "exactly two decimals"),
    ({"value": " 10.50", "currency": "INR"}, "exactly two decimals"),
    ({"value": "١٠.٥٠", "currency": "INR"}, "exactly two decimals"),  # Arabic-Indic digits
    ({"value": "NaN", "currency": "INR"}, "exactly two decimals"),
    ({"value": "99999999999999.00", "currency": "INR"}, "exactly two decimals"),
    ({"value": "0.00", "currency": "INR"}, "more than zero"),
    ({"value": 10.5, "currency": "INR"}, "must be a string"),
    ({"value": 1050, "currency": "INR"}, "must be a string"),
    ({"value": "10.50", "currency": "USD"}, "must be INR, not USD"),
    ({"value": "10.50", "currency": "inr"}, "must be INR"),
    ({"value": "10.50"}, "exactly the fields value and currency"),
    ({"value": "10.50", "currency": "INR", "paise": 1050}, "exactly the fields"),
    ("10.50", "must be an object"),
    (None, "must be an object"),
])
def test_anything_but_an_exact_inr_amount_is_refused_with_its_reason(money, why):
    with pytest.raises(AmountError, match=why):
        paise_from_money(money, "data.collection.amount")


# ------------------------------------------------------------ happy path


def test_a_ledgerline_collection_credits_our_amount_once(webhook, db, deposit, user_id):
    body = ll_event("COLLECTION.CREDITED", deposit)
    response = post(webhook, body)
    assert (response.status_int, response.json["status"]) == (200, "applied")
    assert balance(db, user_id) == (500_50, 0)
    assert deposit_row(db, deposit).status == "success"
    again = post(webhook, body)  # the same event delivered again
    assert (again.status_int, again.json["status"]) == (200, "duplicate_event")
    assert balance(db, user_id) == (500_50, 0)
    with db() as session:
        first = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).first()
    assert (first.bank_code, first.event_id) == ("icici", "evt_ll_1")
    assert first.signature_header.startswith("sha512=")  # its own header, kept for audit


def test_a_rejected_collection_fails_the_deposit_with_the_banks_reason(webhook, db, deposit,
                                                                      user_id):
    body = ll_event("COLLECTION.REJECTED", deposit,
                    reason={"code": "INSUFFICIENT_FUNDS", "message": "insufficient funds"})
    assert post(webhook, body).json["status"] == "applied"
    tx = deposit_row(db, deposit)
    assert (tx.status, tx.status_reason) == ("failed", "insufficient funds")
    assert balance(db, user_id) == (0, 0)


def test_the_previous_secret_still_signs_while_it_rotates(webhook, db, deposit, user_id):
    assert post(webhook, ll_event("COLLECTION.CREDITED", deposit),
                secret=ICICI_OLD_SECRET).json["status"] == "applied"
    assert balance(db, user_id) == (500_50, 0)


def test_a_well_formed_amount_that_differs_from_ours_is_flagged(webhook, db, deposit, user_id):
    response = post(webhook, ll_event("COLLECTION.CREDITED", deposit, "500.51"))
    assert (response.status_int, response.json["status"]) == (422, "flagged_mismatch")
    assert "reported 50051 INR" in deposit_row(db, deposit).flag_reason
    assert balance(db, user_id) == (0, 0)


# -------------------------------------------------- strict bodies: refused


@pytest.mark.parametrize("body_of, detail", [
    (lambda t: ll_event("COLLECTION.CREDITED", t, "500.5"), '"500.5" must be rupees'),
    (lambda t: ll_event("COLLECTION.CREDITED", t, "5.005e2"), "exactly two decimals"),
    (lambda t: ll_event("COLLECTION.CREDITED", t, "-500.50"), "exactly two decimals"),
    (lambda t: ll_event("COLLECTION.CREDITED", t, "500.500"), "exactly two decimals"),
    (lambda t: ll_event("COLLECTION.CREDITED", t, 500.5), "must be a string"),
    (lambda t: ll_event("COLLECTION.CREDITED", t, 50050), "must be a string"),
    (lambda t: ll_event("COLLECTION.CREDITED", t, currency="USD"),
     "data.collection.amount.currency must be INR, not USD"),
    (lambda t: ll_event("COLLECTION.CREDITED", t, amount="500.50"),
     "data.collection.amount must be an object"),
    (lambda t: ll_event("COLLECTION.CREDITED", t, reason="insufficient"),
     "statusReason must be null or an object"),
    (lambda t: ll_event("COLLECTION.CREDITED", "no spaces allowed"), "clientReference"),
    (lambda t: ll_event("COLLECTION.REFUNDED", t), "eventType must be one of"),
    (lambda t: json.dumps({"eventType": "COLLECTION.CREDITED", "data": {"transfer": {}}}
                          ).encode(), "data.collection must be an object"),
    (lambda t: json.dumps({"type": "deposit.succeeded", "reference": t,
                           "amount_paise": 500_50, "currency": "INR"}).encode(),
     "eventType must be one of"),  # the standard shape, to a Ledgerline bank
    (lambda t: b"[]", "the body must be an object"),
])
def test_a_body_not_strictly_ledgerlines_is_refused_and_nothing_applied(
        webhook, db, deposit, user_id, body_of, detail):
    before = state(db)
    response = post(webhook, body_of(deposit))
    assert (response.status_int, response.json["status"]) == (422, "missing_fields")
    assert detail in response.json["detail"]
    assert state(db) == before
    tx = deposit_row(db, deposit)
    assert (tx.status, tx.flag_reason) == ("pending", None)
    assert events_recorded(db) == 0  # not processed: a corrected delivery is judged afresh
    assert post(webhook, ll_event("COLLECTION.CREDITED", deposit),
                event_id="evt_ll_2").json["status"] == "applied"


def test_a_body_that_is_not_json_is_refused(webhook, db, deposit):
    before = state(db)
    response = post(webhook, b"{not json")
    assert (response.status_int, response.json["status"]) == (400, "malformed_json")
    assert state(db) == before


# ----------------------------------------- the signature scheme: refused


def refused_cases(token: str) -> list[tuple[str, dict, int, str]]:
    body = ll_event("COLLECTION.CREDITED", token)
    now = int(time.time())
    real = ll_signature(ICICI_SECRET, "evt_ll_1", now, body)
    return [
        ("forged signature", dict(signature="sha512=" + "A" * 86 + "=="), 401, "bad_signature"),
        ("truncated signature", dict(signature=real[:-6] + "=="), 401, "bad_signature"),
        ("hex, not base64", dict(signature="sha512=" + "ab" * 64), 401, "bad_signature"),
        ("no signature", dict(signature=""), 401, "missing_signature"),
        ("garbage header", dict(signature="hello"), 401, "bad_signature"),
        ("another bank's secret", dict(secret=HDFC_SECRET), 401, "bad_signature"),
        ("the standard scheme", dict(headers={
            "Content-Type": "application/json", "X-Bank-Event-Id": "evt_ll_1",
            "X-Bank-Signature": sign(ICICI_SECRET, body)}), 401, "missing_signature"),
        ("no timestamp", dict(headers={
            k: v for k, v in ll_headers(body).items() if k != "Ledgerline-Timestamp"}),
         401, "bad_signature"),
        ("stale timestamp", dict(t=now - 360), 401, "stale_timestamp"),
        ("future timestamp", dict(t=now + 360), 401, "stale_timestamp"),
        # The event id is signed: a body re-sent under a new id does not verify.
        ("relabelled event id", dict(headers={**ll_headers(body),
                                              "Ledgerline-Event-Id": "evt_ll_2"}),
         401, "bad_signature"),
        ("disallowed address", dict(ip="192.0.2.1"), 403, "ip_not_allowed"),
        ("no event id", dict(event_id=None), 400, "bad_event_id"),
        ("bad event id", dict(event_id="evt 1; drop"), 400, "bad_event_id"),
        ("unknown bank", dict(bank="sbi"), 404, "unknown_bank"),
    ]


@pytest.mark.parametrize("case", range(15))
def test_refused_ledgerline_calls_change_nothing_but_are_audited(webhook, db, deposit, case):
    name, kwargs, status, verdict = refused_cases(deposit)[case]
    before = state(db)
    response = post(webhook, ll_event("COLLECTION.CREDITED", deposit), **kwargs)
    assert (response.status_int, response.json["status"]) == (status, verdict), name
    assert state(db) == before
    assert deposit_row(db, deposit).status == "pending"
    assert attempts(db) == [(status, verdict)]


def test_each_endpoint_speaks_its_own_banks_protocol(webhook, db, deposit):
    # A Ledgerline-signed delivery to a standard bank's endpoint is unsigned there.
    body = ll_event("COLLECTION.CREDITED", deposit)
    response = post(webhook, body, bank="hdfc", ip="203.0.113.7")
    assert (response.status_int, response.json["status"]) == (401, "missing_signature")
    assert deposit_row(db, deposit).status == "pending"


def test_an_event_id_replayed_with_another_body_is_refused(webhook, db, deposit, user_id):
    post(webhook, ll_event("COLLECTION.REJECTED", deposit), event_id="evt_ll_9")
    before = state(db)
    response = post(webhook, ll_event("COLLECTION.CREDITED", deposit), event_id="evt_ll_9")
    assert (response.status_int, response.json["status"]) == (409, "replayed_event_id")
    assert state(db) == before
    assert deposit_row(db, deposit).status == "failed"


@pytest.mark.parametrize("skew_s, accepted", [
    (-301, False), (-300, True), (0, True), (300, True), (301, False)])
def test_the_window_edges_hold_for_ledgerline_on_a_fixed_clock(skew_s, accepted):
    body, now_s = ll_event("COLLECTION.CREDITED", "x" * 32), 1_900_000_000
    headers = {k.lower(): v for k, v in ll_headers(body, t=now_s + skew_s).items()}

    def check():
        check_signature(LEDGERLINE.read_signature(headers), body, (ICICI_SECRET,), now_s,
                        LEDGERLINE.mac)
    if accepted:
        check()
    else:
        with pytest.raises(SignatureError, match="5-minute"):
            check()


def test_the_fake_banks_ledgerline_signature_is_the_one_we_verify():
    # Two implementations of the contract, written apart, agree.
    body, now_s = ll_event("TRANSFER.RETURNED", "wd_12"), 1_900_000_000
    sent = ledgerline_headers(ICICI_SECRET, "evt_fb_1", body, now_s)
    headers = {k.lower(): v for k, v in sent.items()}
    parts = LEDGERLINE.read_signature(headers)
    assert parts.event_id == "evt_fb_1"
    check_signature(parts, body, (ICICI_OLD_SECRET, ICICI_SECRET), now_s, LEDGERLINE.mac)
    with pytest.raises(SignatureError):
        check_signature(parts, body.replace(b"500.50", b"900.50"), (ICICI_SECRET,), now_s,
                        LEDGERLINE.mac)


# ----------------------------------------------------------- settings


def test_a_bank_speaks_the_standard_protocol_unless_told_otherwise():
    banks = load_banks(BANK_SETTINGS)
    assert {code: bank.protocol for code, bank in banks.items()} == {
        "hdfc": "standard", "axis": "standard"}
    assert BANKS["icici"].protocol == "ledgerline"
    assert protocol_for(BANKS["icici"]) is LEDGERLINE


def test_an_unknown_protocol_stops_the_app_at_start_up():
    with pytest.raises(ConfigurationError, match="banks.hdfc.protocol = 'soap'"):
        load_banks({**BANK_SETTINGS, "banks.hdfc.protocol": "soap"})


# ------------------------------------------- the Ledgerline API's answers


def reply(code: int, document) -> urllib.error.HTTPError:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return urllib.error.HTTPError("http://bank", code, "x", {}, io.BytesIO(body))


class Ok(io.BytesIO):
    """A 200 reply with a JSON body (as urlopen returns it)."""

    def __init__(self, document):
        super().__init__(json.dumps(document).encode())
        self.status = 200


def transfer(status: str, reason=None) -> dict:
    return {"transfer": {"clientReference": "wd_1", "status": status,
                         "amount": {"value": "400.00", "currency": "INR"},
                         "statusReason": reason}}


PAYOUT = {"reference": "wd_1", "amount_paise": 400_00, "currency": "INR",
          "account_number": "50100012345678", "ifsc": "ICIC0001234"}


def test_a_transfer_is_asked_for_in_ledgerlines_words():
    client = BankClient(BANKS["icici"], timeout_s=5.0, observer=NO_OBSERVER)
    with mock.patch("urllib.request.urlopen", return_value=Ok(transfer("SETTLED"))) as urlopen:
        record = client.send_payout(PAYOUT)
    request = urlopen.call_args.args[0]
    assert request.full_url == "http://127.0.0.1:9/icici/api/v2/transfers"
    assert request.get_header("X-api-key") == BANKS["icici"].api_key
    assert json.loads(request.data) == {
        "clientReference": "wd_1", "amount": {"value": "400.00", "currency": "INR"},
        "beneficiary": {"accountNumber": "50100012345678", "ifsc": "ICIC0001234"}}
    assert LEDGERLINE.payout_word(record).outcome == "accepted"


@pytest.mark.parametrize("status, reason, outcome, said, because", [
    ("SETTLED", None, "accepted", "SETTLED", ""),
    ("DECLINED", {"code": "BENEFICIARY_NOT_FOUND", "message": "no such account"}, "rejected",
     "DECLINED", "no such account"),
    ("RETURNED", {"code": "ACCOUNT_CLOSED"}, "reversed", "RETURNED", "ACCOUNT_CLOSED"),
    ("PROCESSING", None, None, "PROCESSING", ""),  # no final word yet: asked again later
    ("accepted", None, None, "accepted", ""),  # the standard word means nothing here
])
def test_ledgerline_transfer_statuses_in_our_words(status, reason, outcome, said, because):
    word = LEDGERLINE.payout_word(transfer(status, reason)["transfer"])
    assert (word.outcome, word.said, word.reason) == (outcome, said, because)


@pytest.mark.parametrize("answer", [
    reply(409, {"error": {"code": "DUPLICATE_REFERENCE"}}), reply(401, b"no"),
    reply(503, {"error": {"code": "SERVICE_UNAVAILABLE"}}), reply(422, transfer("DECLINED")),
    Ok({"transfers": []}), Ok({"transfer": "SETTLED"}), TimeoutError("timed out")])
def test_any_other_answer_to_a_transfer_leaves_its_outcome_unknown(answer):
    client = BankClient(BANKS["icici"], timeout_s=5.0, observer=NO_OBSERVER)
    kwargs = {"side_effect": answer} if isinstance(answer, Exception) else {"return_value": answer}
    with mock.patch("urllib.request.urlopen", **kwargs), pytest.raises(BankUnavailable):
        client.send_payout(PAYOUT)


def test_the_transfer_search_says_none_one_or_unclear():
    client = BankClient(BANKS["icici"], timeout_s=5.0, observer=NO_OBSERVER)
    one = transfer("SETTLED")["transfer"]
    with mock.patch("urllib.request.urlopen", return_value=Ok({"transfers": []})) as urlopen:
        assert client.payout_status("wd_1") is None
    assert urlopen.call_args.args[0].full_url.endswith("/v2/transfers?clientReference=wd_1")
    with mock.patch("urllib.request.urlopen", return_value=Ok({"transfers": [one]})):
        assert client.payout_status("wd_1") == one
    for unclear in ({"transfers": [one, one]}, {"transfers": "none"}, {"items": []}):
        with mock.patch("urllib.request.urlopen", return_value=Ok(unclear)), \
                pytest.raises(BankUnavailable):
            client.payout_status("wd_1")
    with mock.patch("urllib.request.urlopen", side_effect=reply(404, b"")), \
            pytest.raises(BankUnavailable):
        client.payout_status("wd_1")  # a 404 of a search is no answer


def test_a_collections_404_is_no_record_and_its_amount_is_read_strictly():
    client = BankClient(BANKS["icici"], timeout_s=5.0, observer=NO_OBSERVER)
    with mock.patch("urllib.request.urlopen", side_effect=reply(404, {"error": {}})):
        assert client.payment_status("t" * 32) is None
    credited = {"clientReference": "t" * 32, "status": "CREDITED",
                "amount": {"value": "500.50", "currency": "INR"}}
    status = LEDGERLINE.deposit_status(credited)
    assert (status.outcome, status.amount_paise, status.currency) == ("success", 500_50, "INR")
    sloppy = LEDGERLINE.deposit_status({**credited, "amount": {"value": "500.5",
                                                               "currency": "INR"}})
    # Settled with no amount we can read, a deposit is flagged for a human.
    assert (sloppy.outcome, sloppy.amount_paise) == ("success", None)
    assert LEDGERLINE.deposit_status({**credited, "status": "INITIATED"}).outcome is None


# ------------------------------------------ the sweeper reads each dialect


class Collections:
    """A Ledgerline bank's status API, answering from a dict (used as client_for)."""

    def __init__(self, records: dict):
        self.records = records

    def __call__(self, bank):
        return self

    def payment_status(self, reference):
        return self.records.get(reference)


def collection(token: str, status: str, value: str = "500.50") -> dict:
    return {"clientReference": token, "status": status, "statusReason": None,
            "amount": {"value": value, "currency": "INR"}}


def test_the_sweeper_reads_a_ledgerline_banks_answers_in_its_words(db, runner, user_id):

    tokens = []
    for i in range(4):
        with db() as session, session.begin():
            tokens.append(deposit_service(session, BANKS).start(
                session.get(User, user_id), "icici", 500_50, f"form-key-ll-sweep-{i:02d}").token)
    credited, rejected, initiated, unreadable = tokens
    bank = Collections({credited: collection(credited, "CREDITED"),
                        rejected: collection(rejected, "REJECTED"),
                        initiated: collection(initiated, "INITIATED"),
                        unreadable: collection(unreadable, "CREDITED", "500.5")})
    counts = sweep_stuck_deposits(runner, BANKS, bank, older_than=dt.timedelta(0))
    assert counts == {"checked": 4, "settled": 2, "still_pending": 1, "bank_unavailable": 0}
    assert [deposit_row(db, t).status for t in tokens] == [
        "success", "failed", "pending", "pending"]
    # Credited at the bank, but with an amount we cannot read: a human decides.
    assert "reported no amount we can read" in deposit_row(db, unreadable).flag_reason
    assert balance(db, user_id) == (500_50, 0)
