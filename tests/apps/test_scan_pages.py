"""My QR and scan-and-pay in the user app: choosing one's handle on /me/qr
(once; bad input a 4xx, nothing written), /to/<handle> the send page with
that person locked, a payment to them completed with the PIN; /scan/decode
reads QR pictures (segno's PNGs and JPEGs) into the wallet's own pages and
refuses anything else, too large or too many pictures."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from wallet.core.models import Transaction, User
from webapp.views.per_person import PerPersonLimiter as ScanLimiter

from ..mandate_helpers import make_shop
from ..scan_helpers import qr_jpeg, qr_png
from ..wallet_helpers import PinForm, balance, csrf_token, login, make_user, state

OWN = "http://localhost"  # webtest's application URL (no user_app_url configured)


@pytest.fixture
def asha_app(user_app, asha, ravi):
    assert login(user_app, "98765 43210").status_int == 303
    return user_app


def handle_of(db, user_id: int) -> str | None:
    with db() as session:
        return session.scalar(select(User.handle).where(User.id == user_id))


def choose(app, text: str, status: int = 303):
    form = app.get("/me/qr").forms["handle-form"]
    form["handle"] = text
    return form.submit(status=status)


def give_handle(db, user_id: int, handle: str) -> None:
    with db() as session, session.begin():
        session.get(User, user_id).handle = handle


# ------------------------------------------------------------------ My QR


def test_a_user_chooses_a_handle_once_and_sees_their_qr(asha_app, db, asha):
    page = asha_app.get("/me/qr")
    assert "handle-form" in page.forms and "my-qr-code" not in page.text
    page = choose(asha_app, " Asha-V ").follow()
    assert handle_of(db, asha) == "asha-v"
    assert "Your handle is asha-v@wallet" in page.text
    assert page.html.select_one("#my-handle").text == "asha-v@wallet"
    assert page.html.select_one("#my-qr-url")["href"] == f"{OWN}/to/asha-v"
    assert page.html.select_one("#my-qr-code")["src"].startswith("data:image/svg+xml")
    assert "handle-form" not in page.forms
    # Changing it is refused, said clearly, and nothing changes.
    token = csrf_token(asha_app, "/me/qr")
    refused = asha_app.post("/me/qr", {"csrf_token": token, "handle": "asha-new"}, status=409)
    assert "Your handle is asha-v@wallet: it cannot be changed" in refused.text
    assert handle_of(db, asha) == "asha-v"


def test_the_qr_points_at_the_configured_user_app(web_settings, db, asha):
    import webtest

    import webapp

    from ..conftest import dispose_app_engine

    wsgi = webapp.main({}, **{**web_settings, "wallet.user_app_url": "https://pay.example.in/"})
    try:
        app = webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
        login(app, "98765 43210")
        give_handle(db, asha, "asha")
        page = app.get("/me/qr")
        assert page.html.select_one("#my-qr-url")["href"] == "https://pay.example.in/to/asha"
    finally:
        dispose_app_engine(wsgi)


@pytest.mark.parametrize("text", ["", "as", "asha verma", "asha@gmail.com", "-asha", "ä" * 5,
                                  "a" * 41])
def test_a_bad_handle_is_a_400_on_the_form_and_nothing_written(asha_app, db, asha, text):
    before = state(db)
    token = csrf_token(asha_app, "/me/qr")
    page = asha_app.post("/me/qr", {"csrf_token": token, "handle": text}, status=400)
    assert page.html.select_one("#handle-error").text.startswith("Use 3 to 30 lowercase")
    assert page.forms["handle-form"]["handle"].value == text[:40]
    assert handle_of(db, asha) is None and state(db) == before


def test_a_taken_handle_is_a_409(asha_app, db, asha, ravi):
    give_handle(db, ravi, "ravi")
    make_shop(db, "chai-point", endpoint=False)
    for taken in ("ravi", "RAVI@wallet", "chai-point"):
        page = choose(asha_app, taken, status=409)
        assert "That handle is taken" in page.html.select_one("#handle-error").text
    assert handle_of(db, asha) is None


# -------------------------------------------------------- /to/<handle>


def test_opening_a_handle_sends_to_that_person_with_the_pin(asha_app, db, asha, ravi):
    give_handle(db, ravi, "ravi")
    page = asha_app.get("/to/ravi")
    assert page.html.select_one("h1").text == "Send money to Ravi K•••••"
    assert page.html.select_one("#recipient-name").text == "Ravi K•••••"
    assert page.html.select_one("#recipient-verified").text == "(verified name)"
    assert page.html.select_one("#recipient-address").text == "ravi@wallet"
    assert "phone" not in page.forms["send-form"].fields
    form = page.forms["send-form"]
    assert form["to_handle"].value == "ravi"
    form["amount"], form["note"] = "150", "dinner"
    confirm = form.submit()
    assert confirm.html.select_one("#confirm-question").text == (
        "Send ₹150.00 to Ravi Kumar (+91 ••••• 45678)?")
    assert "Verified name: Ravi K•••••" in confirm.text
    done = PinForm(page.forms["send-form"]).submit()  # (the same form again: one payment)
    assert re.search(r"/transactions/\d+\?sent=1$", done.location)
    assert balance(db, ravi) == (150_00, 0) and balance(db, asha) == (850_00, 0)
    with db() as session:
        tx = session.scalars(select(Transaction).where(Transaction.payee_user_id == ravi)).one()
        assert (tx.payer_user_id, tx.amount_paise, tx.note) == (asha, 150_00, "dinner")


def test_a_send_by_handle_with_a_bad_amount_keeps_the_person(asha_app, db, ravi):
    give_handle(db, ravi, "ravi")
    form = asha_app.get("/to/ravi").forms["send-form"]
    form["amount"] = "1.005"
    page = form.submit(status=400)
    assert page.html.select_one("#recipient-name").text == "Ravi K•••••"
    assert page.forms["send-form"]["to_handle"].value == "ravi"
    assert "amount-error" in page.text


def test_an_unverified_person_is_said_to_be(asha_app, db):
    zoya = make_user(db, "+919800000001", "Zoya Ali", full_kyc=False)
    give_handle(db, zoya, "zoya")
    page = asha_app.get("/to/zoya")
    assert page.html.select_one("#recipient-name").text == "Zoya A•••••"
    assert page.html.select_one("#recipient-verified").text == "(name not verified)"


def test_an_unknown_handle_is_a_clear_404(asha_app, db):
    before = state(db)
    for path in ("/to/nobody", "/to/NOT%20A%20HANDLE", "/to/" + "x" * 80):
        page = asha_app.get(path, status=404)
        assert "No such wallet handle" in page.text and "Check the QR code" in page.text
    # A forged form naming an unknown handle is refused on the form.
    form = asha_app.get("/send").forms["send-form"]
    token = form["csrf_token"].value
    page = asha_app.post("/send", {"csrf_token": token, "to_handle": "nobody", "amount": "10",
                                   "request_key": form["request_key"].value}, status=400)
    assert "No wallet has that handle" in page.text
    assert state(db) == before


def test_ones_own_handle_opens_ones_own_qr(asha_app, db, asha):
    give_handle(db, asha, "asha")
    page = asha_app.get("/to/asha", status=303).follow()
    assert "That is your own QR code" in page.text
    assert page.request.path == "/me/qr"


def test_signed_out_a_handle_asks_to_log_in_first(user_app, db, ravi):
    give_handle(db, ravi, "ravi")
    answer = user_app.get("/to/ravi", status=303)
    assert answer.location.endswith("/login?next=%2Fto%2Fravi")


# ------------------------------------------------------------ /scan/decode


def decode(app, picture: bytes, status: int = 200, *, token: str | None = None):
    token = token if token is not None else csrf_token(app, "/scan")
    return app.post("/scan/decode", picture, headers={"X-CSRF-Token": token},
                    content_type="image/jpeg", status=status)


def test_the_scan_page_loads_its_script(asha_app):
    page = asha_app.get("/scan")
    assert page.html.select_one("#scanner")["data-decode-url"] == f"{OWN}/scan/decode"
    assert any(s["src"].endswith("/static/scan.js") for s in page.html.select("script"))
    assert page.html.select_one("#scan-file")["capture"] == "environment"
    assert asha_app.get("/static/scan.js").status_int == 200


@pytest.mark.parametrize("path, kind", [
    ("/pay/chai-point", "shop"), ("/to/ravi", "person"),
    ("/checkout/pr_AbCdEf0123456789abcdef", "checkout"),
    ("/l/plink_AbCdEf0123456789abcdef", "link")])
def test_a_wallet_qr_decodes_to_its_page(asha_app, path, kind):
    for picture in (qr_png(OWN + path), qr_jpeg(OWN + path)):
        answer = decode(asha_app, picture)
        assert answer.json == {"found": True, "kind": kind, "url": OWN + path}


def test_a_qr_that_is_not_the_wallets_is_refused(asha_app):
    for text in ("https://evil.example/pay/chai-point", "upi://pay?pa=x@bank", "hello",
                 f"{OWN}/transactions/1"):
        answer = decode(asha_app, qr_png(text), 422)
        assert answer.json == {"found": True, "code": "not_a_pay_code",
                               "message": "This QR is not a wallet payment code."}


def test_a_picture_without_a_qr_finds_nothing(asha_app):
    blank = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 200, 200)).save(blank, format="JPEG")
    assert decode(asha_app, blank.getvalue()).json == {"found": False}


def test_bad_pictures_are_4xx(asha_app):
    assert decode(asha_app, b"not an image", 400).json["code"] == "image_unreadable"
    assert decode(asha_app, b"", 400).json["code"] == "image_unreadable"
    too_big = b"\xff\xd8" + b"0" * (2 * 1024 * 1024)
    answer = decode(asha_app, too_big, 413)
    assert answer.json["code"] == "image_too_large" and "2 MB" in answer.json["message"]


def test_decoding_needs_the_csrf_token_and_a_sign_in(asha_app, user_app):
    answer = decode(asha_app, qr_png(OWN + "/pay/chai-point"), 400, token="wrong")
    assert "did not come from this site" in answer.text
    asha_app.reset()
    answer = user_app.post("/scan/decode", qr_png(OWN + "/pay/chai-point"),
                           content_type="image/png", status="*")
    assert answer.status_int in (303, 400) and "found" not in answer.text


def test_too_many_pictures_are_a_429(asha_app, user_wsgi):
    now = [0.0]
    user_wsgi.registry["scan.limiter"] = ScanLimiter(per_minute=3, clock=lambda: now[0])
    picture = qr_png(OWN + "/pay/chai-point")
    for _ in range(3):
        decode(asha_app, picture)
    assert decode(asha_app, picture, 429).json["code"] == "rate_limited"
    now[0] = 61.0
    decode(asha_app, picture)


def test_the_limiter_counts_each_person_apart():
    now = [0.0]
    limiter = ScanLimiter(per_minute=2, clock=lambda: now[0])
    assert [limiter.allow(1), limiter.allow(1), limiter.allow(1)] == [True, True, False]
    assert limiter.allow(2)
    now[0] = 30.0
    assert not limiter.allow(1)
    now[0] = 60.5
    assert limiter.allow(1)
