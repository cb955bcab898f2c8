"""People's receive handles (wallet.identity.handles): their shape, one
handle per person and per party (no other person's, shop's or store's),
chosen once; a refusal writes nothing. Sending to ``asha@wallet`` is the
transfer's own rule (wallet.money.transfers); and the scan's rules
(wallet.money.pay_codes): only this wallet's own payment codes are followed."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from wallet.core.errors import WalletError
from wallet.core.models import Merchant, User
from wallet.identity.errors import HandleAlreadyChosen, HandleTaken
from wallet.identity.handles import Handles, handle_of_address, read_handle
from wallet.merchants.stores import Stores
from wallet.money.errors import (
    NOT_A_PAY_CODE,
    NotAPayCode,
    RecipientNotFound,
    SelfTransfer,
    UnreadableImage,
)
from wallet.money.pay_codes import PayCode, PayCodeKind, pay_code, read_qr_codes

from ..scan_helpers import qr_jpeg, qr_png
from ..wallet_helpers import PIN, balance, make_user, transfers_service
from .test_stores import signup


def choose(db, user_id: int, text: str) -> str | None:
    with db() as session, session.begin():
        return Handles(session).choose(session.get(User, user_id), text).handle


def handle_of(db, user_id: int) -> str | None:
    with db() as session:
        return session.scalar(select(User.handle).where(User.id == user_id))


@pytest.fixture
def people(db):
    asha = make_user(db, "+919876543210", "Asha Kumari", deposit_paise=1_000_00)
    ravi = make_user(db, "+919812345678", "Ravi Kumar")
    return asha, ravi


@pytest.mark.parametrize("text, handle", [
    ("asha", "asha"), ("  Asha-K  ", "asha-k"), ("asha@wallet", "asha"), ("ASHA@Wallet", "asha"),
    ("a12", "a12")])
def test_a_handle_is_read_trimmed_and_lowercased(text, handle):
    assert read_handle(text) == handle


@pytest.mark.parametrize("text", [
    "", "as", "-asha", "asha-", "asha k", "asha_k", "ašha", "a" * 31, "asha@gmail.com",
    "asha@", "@wallet", "asha@wallet@wallet"])
def test_what_is_not_a_handle(text):
    assert read_handle(text) is None


def test_an_address_names_a_handle_a_phone_does_not():
    assert handle_of_address("asha@wallet") == "asha"
    assert handle_of_address("+919876543210") is None
    assert handle_of_address("asha@bank") is None


def test_a_person_chooses_their_handle_once(db, people):
    asha, _ = people
    assert handle_of(db, asha) is None
    assert choose(db, asha, " Asha-K@wallet ") == "asha-k"
    assert handle_of(db, asha) == "asha-k"
    with pytest.raises(HandleAlreadyChosen, match="asha-k@wallet: it cannot be changed"):
        choose(db, asha, "asha-kumari")
    assert handle_of(db, asha) == "asha-k"


def test_a_handle_pays_one_person(db, people):
    asha, ravi = people
    choose(db, asha, "asha")
    with pytest.raises(HandleTaken) as refused:
        choose(db, ravi, "ASHA")
    assert (refused.value.code, refused.value.field) == ("handle_taken", "handle")
    assert handle_of(db, ravi) is None


def test_a_shops_or_a_stores_handle_is_taken(db, people):
    _, ravi = people
    shop = signup(db, "chai-point", "Chai Point")
    with db() as session, session.begin():
        Stores(session).open(session.get(Merchant, shop), "Airport", "chai-airport")
    for taken in ("chai-point", "chai-airport"):
        with pytest.raises(HandleTaken):
            choose(db, ravi, taken)
    assert handle_of(db, ravi) is None


@pytest.mark.parametrize("text", ["", "as", "asha k", "asha@gmail.com", "-x-", "a" * 31])
def test_a_bad_handle_is_refused_and_nothing_written(db, people, text):
    asha, _ = people
    with pytest.raises(WalletError) as refused:
        choose(db, asha, text)
    assert refused.value.field == "handle" and refused.value.code == "validation_error"
    assert "3 to 30 lowercase letters" in str(refused.value)
    assert handle_of(db, asha) is None


def test_money_is_sent_to_a_handle_by_the_transfers_rule(db, people):
    asha, ravi = people
    choose(db, ravi, "ravi")
    with db() as session, session.begin():
        transfers = transfers_service(session)
        sender = session.get(User, asha)
        recipient, payee = transfers.recipient_by_handle(sender, "ravi")
        assert recipient.id == ravi and payee.verified_name == "Ravi K•••••"
        tx = transfers.send_money(sender, "ravi@wallet", 250_00, "by-handle-key-0001",
                                  "lunch", pin=PIN)
        assert (tx.payer_user_id, tx.payee_user_id, tx.amount_paise) == (asha, ravi, 250_00)
    assert balance(db, ravi) == (250_00, 0)


def test_unknown_and_own_handles_are_refused(db, people):
    asha, _ = people
    choose(db, asha, "asha")
    with db() as session:
        transfers = transfers_service(session)
        sender = session.get(User, asha)
        for unknown in ("nobody", "not a handle!"):
            with pytest.raises(RecipientNotFound, match="No wallet has that handle"):
                transfers.recipient_by_handle(sender, unknown)
        with pytest.raises(RecipientNotFound):
            transfers.send_money(sender, "nobody@wallet", 1_00, "by-handle-key-0002", pin=PIN)
        with pytest.raises(SelfTransfer):
            transfers.send_money(sender, "asha@wallet", 1_00, "by-handle-key-0003", pin=PIN)
    assert balance(db, asha) == (1_000_00, 0)


OWN = ("https://wallet.example.in",)


@pytest.mark.parametrize("text, code", [
    ("https://wallet.example.in/pay/chai-point", PayCode(PayCodeKind.SHOP, "chai-point")),
    ("https://WALLET.example.in:443/pay/chai-point?x=1#y",
     PayCode(PayCodeKind.SHOP, "chai-point")),
    ("https://wallet.example.in/to/asha", PayCode(PayCodeKind.PERSON, "asha")),
    ("https://wallet.example.in/checkout/pr_AbC-9_x", PayCode(PayCodeKind.CHECKOUT, "pr_AbC-9_x")),
    ("https://wallet.example.in/l/plink_Zz09-_", PayCode(PayCodeKind.LINK, "plink_Zz09-_")),
])
def test_the_wallets_own_codes(text, code):
    assert pay_code(text, OWN) == code


def test_a_wallet_under_a_path_prefix():
    assert pay_code("https://x.in/app/to/asha", ("https://x.in/app/",)) == PayCode(
        PayCodeKind.PERSON, "asha")
    with pytest.raises(NotAPayCode):
        pay_code("https://x.in/to/asha", ("https://x.in/app",))


@pytest.mark.parametrize("text", [
    "https://evil.example/pay/chai-point",  # another site
    "http://wallet.example.in/pay/chai-point",  # another scheme (another origin)
    "https://wallet.example.in:8443/pay/chai-point",  # another port
    "https://wallet.example.in.evil.example/pay/chai-point",
    "https://wallet.example.in@evil.example/pay/chai-point",
    "https://wallet.example.in/transactions/1",  # ours, but pays no one
    "https://wallet.example.in/pay/Chai-Point", "https://wallet.example.in/pay/chai point",
    "https://wallet.example.in/pay/chai-point/extra", "https://wallet.example.in/to/",
    "https://wallet.example.in/checkout/rf_abc", "https://wallet.example.in/l/pr_abc",
    "https://wallet.example.in/checkout/pr_" + "a" * 60,
    "https://wallet.example.in//pay/chai", "https://wallet.example.in/../pay/chai",
    "javascript:alert(1)", "upi://pay?pa=asha@bank", "asha@wallet", "hello", "",
    "https://wallet.example.in:99999/pay/chai",
])
def test_anything_else_is_not_a_wallet_payment_code(text):
    with pytest.raises(NotAPayCode, match=NOT_A_PAY_CODE) as refused:
        pay_code(text, OWN)
    assert refused.value.code == "not_a_pay_code"


def test_qr_codes_are_read_from_png_and_jpeg():
    url = "https://wallet.example.in/pay/chai-point"
    assert read_qr_codes(qr_png(url)) == [url]
    assert read_qr_codes(qr_jpeg(url)) == [url]
    blank = io.BytesIO()
    Image.new("L", (300, 300), 255).save(blank, format="PNG")
    assert read_qr_codes(blank.getvalue()) == []


@pytest.mark.parametrize("picture", [b"", b"not a picture", b"\x89PNG\r\n\x1a\n" + b"0" * 40])
def test_what_is_not_a_picture_is_unreadable(picture):
    with pytest.raises(UnreadableImage) as refused:
        read_qr_codes(picture)
    assert refused.value.code == "image_unreadable"


def test_a_picture_with_too_many_pixels_is_refused_before_it_is_decoded():
    big = io.BytesIO()
    Image.new("1", (5000, 5000), 1).save(big, format="PNG")  # small file, 25 M pixels
    assert len(big.getvalue()) < 2 * 1024 * 1024
    with pytest.raises(UnreadableImage, match="too large"):
        read_qr_codes(big.getvalue())


def test_a_shop_or_a_store_cannot_take_a_persons_handle(db):
    """/pay/asha beside a person's /to/asha would let a shop pose as them."""
    from wallet.identity.accounts import AccountService
    from wallet.identity.errors import AccountError
    from wallet.merchants.errors import StoreHandleTaken

    from ..wallet_helpers import PASSWORD, make_user, services_for_tests
    asha = make_user(db, "+919876543210", "Asha")
    with db() as session, session.begin():
        services_for_tests(session).handles.choose(session.get(User, asha), "asha")
    with db() as session, session.begin():
        shop = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", PASSWORD)
        with pytest.raises(StoreHandleTaken):
            services_for_tests(session).stores.open(shop, "Asha's", "asha")
    with db() as session, session.begin(), pytest.raises(AccountError, match="taken"):
        AccountService(session, bcrypt_rounds=4).signup_merchant(
            "asha", "Asha's", "asha-shop@example.com", PASSWORD)
