"""A user's saved bank accounts (wallet.banking.saved_accounts): the fields
checked before the bank is asked, the holder's name as the bank reports it
(a stub, and the real fake bank in both dialects), the wallet PIN counted
before anything is written, and notifications of every change."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import fake_bank
from wallet.banking.bank_client import BankClient, BankUnavailable
from wallet.banking.errors import BankAccountUnknown, BankNotAnswering, SavedAccountNotFound
from wallet.banking.merchant_bank_accounts import BankAccountPolicy
from wallet.banking.models import UserBankAccount
from wallet.banking.saved_accounts import HolderName, SavedBankAccounts
from wallet.core.errors import WalletError
from wallet.core.models import Notification, User
from wallet.core.notifications import Notice
from wallet.core.observe import NO_OBSERVER
from wallet.identity.errors import WrongPin
from wallet.identity.models import WalletPin

from ..conftest import BANK_SETTINGS
from ..ledgerline_helpers import SETTINGS as LEDGERLINE_SETTINGS
from ..live_servers import banks_served_by, serving
from ..wallet_helpers import PIN, TEST_BANKS, make_user, pins_service

NUMBER, IFSC = "50100012345678", "HDFC0001234"


class StubBank:
    """A bank's account-holder API: ``names`` by account number; None: none."""

    def __init__(self, names=None, *, down=False):
        self.names = names or {}
        self.down = down
        self.asked: list[tuple[str, str]] = []

    def account_holder(self, account_number, ifsc):
        self.asked.append((account_number, ifsc))
        if self.down:
            raise BankUnavailable("timed out")
        if account_number not in self.names:
            return None
        return {"account_number": account_number, "ifsc": ifsc,
                "name": self.names[account_number]}


def service(session, stub, banks=TEST_BANKS, max_accounts=5):
    return SavedBankAccounts(session, banks, pins_service(session),
                             policy=BankAccountPolicy(max_accounts=max_accounts),
                             client_for=lambda bank: stub)


@pytest.fixture
def asha_id(db):
    return make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)


def saved_rows(db):
    with db() as session:
        return list(session.scalars(select(UserBankAccount).order_by(UserBankAccount.id)))


def notices(db, user_id):
    """The user's notifications of saved accounts."""
    with db() as session:
        return [n.kind for n in session.scalars(select(Notification).where(
            Notification.user_id == user_id,
            Notification.kind.in_([Notice.BANK_ACCOUNT_SAVED, Notice.BANK_ACCOUNT_REMOVED]))
            .order_by(Notification.id))]


def failed_tries(db, user_id):
    with db() as session:
        return session.get(WalletPin, user_id).failed_tries


def test_every_field_problem_at_once_and_the_bank_never_asked():
    stub = StubBank({NUMBER: "ASHA VERMA"})
    saved = service(None, stub)
    with pytest.raises(WalletError) as refused:
        saved.look_up("sbi", "12ab", "12ab", "HDFC01")
    assert set(refused.value.errors) == {"bank", "account_number", "ifsc"}
    with pytest.raises(WalletError) as refused:
        saved.look_up("hdfc", NUMBER, "50100012345679", IFSC)
    assert set(refused.value.errors) == {"repeat"}
    with pytest.raises(WalletError, match="IFSC of Axis Bank"):
        saved.look_up("hdfc", NUMBER, NUMBER, "UTIB0000123")
    assert stub.asked == []


def test_the_holder_name_is_the_banks():
    stub = StubBank({NUMBER: "  ASHA   VERMA "})
    found = service(None, stub).look_up("hdfc", "5010 0012-345678", NUMBER, "hdfc0001234")
    assert (found.bank_code, found.account_number, found.ifsc, found.name) == (
        "hdfc", NUMBER, IFSC, "ASHA VERMA")
    assert stub.asked == [(NUMBER, IFSC)]
    with pytest.raises(TypeError):
        HolderName("hdfc", NUMBER, IFSC, "Someone Typed")  # only the look-up makes one


@pytest.mark.parametrize("stub, refusal", [
    (StubBank(), BankAccountUnknown),
    (StubBank(down=True), BankNotAnswering),
    (StubBank({NUMBER: ""}), BankNotAnswering),
    (StubBank({NUMBER: "x" * 81}), BankNotAnswering),
    (StubBank({NUMBER: "ASHA\u202eVERMA"}), BankNotAnswering),
])
def test_no_name_no_account(stub, refusal):
    with pytest.raises(refusal):
        service(None, stub).look_up("hdfc", NUMBER, NUMBER, IFSC)


def test_adding_needs_the_pin_counted_first_and_writes_nothing_else(db, asha_id):
    stub = StubBank({NUMBER: "ASHA VERMA"})
    found = service(None, stub).look_up("hdfc", NUMBER, NUMBER, IFSC)
    with db() as session, session.begin():
        with pytest.raises(WrongPin):
            service(session, stub).add(session.get(User, asha_id), found, "9999")
    assert saved_rows(db) == [] and notices(db, asha_id) == []
    assert failed_tries(db, asha_id) == 1
    with db() as session, session.begin():
        account = service(session, stub).add(session.get(User, asha_id), found, PIN)
        assert service(session, stub).name(account) == "HDFC Bank ••••5678"
    [row] = saved_rows(db)
    assert (row.user_id, row.bank_code, row.account_number, row.ifsc, row.holder_name) == (
        asha_id, "hdfc", NUMBER, IFSC, "ASHA VERMA")
    assert notices(db, asha_id) == [Notice.BANK_ACCOUNT_SAVED]
    assert failed_tries(db, asha_id) == 0


def test_the_same_account_twice_or_too_many_are_refused_before_the_pin(db, asha_id):
    stub = StubBank({NUMBER: "ASHA VERMA", "50100012345679": "ASHA VERMA"})
    found = service(None, stub).look_up("hdfc", NUMBER, NUMBER, IFSC)
    with db() as session, session.begin():
        service(session, stub).add(session.get(User, asha_id), found, PIN)
    with db() as session, session.begin():
        with pytest.raises(WalletError, match="saved already"):
            service(session, stub).add(session.get(User, asha_id), found, "0000")
    other = service(None, stub).look_up("hdfc", "50100012345679", "50100012345679", IFSC)
    with db() as session, session.begin():
        with pytest.raises(WalletError, match="the most you may have"):
            service(session, stub, max_accounts=1).add(session.get(User, asha_id), other,
                                                       "0000")
    assert failed_tries(db, asha_id) == 0  # (neither PIN was compared)
    assert len(saved_rows(db)) == 1


def test_removing_needs_the_pin_and_is_notified(db, asha_id):
    ravi_id = make_user(db, "+919812345678", "Ravi Kumar")
    stub = StubBank({NUMBER: "ASHA VERMA"})
    found = service(None, stub).look_up("hdfc", NUMBER, NUMBER, IFSC)
    with db() as session, session.begin():
        account_id = service(session, stub).add(session.get(User, asha_id), found, PIN).id
    with db() as session, session.begin():
        with pytest.raises(SavedAccountNotFound):  # another's account is not found
            service(session, stub).remove(session.get(User, ravi_id), account_id, PIN)
        with pytest.raises(WrongPin):
            service(session, stub).remove(session.get(User, asha_id), account_id, "9999")
    assert saved_rows(db)[0].removed_at is None
    with db() as session, session.begin():
        service(session, stub).remove(session.get(User, asha_id), str(account_id), PIN)
    assert saved_rows(db)[0].removed_at is not None
    assert notices(db, asha_id) == [Notice.BANK_ACCOUNT_SAVED, Notice.BANK_ACCOUNT_REMOVED]
    with db() as session:
        assert service(session, stub).saved(session.get(User, asha_id)) == []
        for bad in ("", "x", "1" * 19, str(account_id)):
            with pytest.raises(SavedAccountNotFound):
                service(session, stub).get(session.get(User, asha_id), bad)


# ------------------------------------------------------ the real fake bank


@pytest.fixture
def fake_bank_url(tmp_path):
    """The fake bank (both dialects: hdfc standard, icici Ledgerline) over HTTP."""
    app = fake_bank.main({}, **{
        **LEDGERLINE_SETTINGS,
        "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'fake_bank.sqlite'}",
        "fake_bank.webhook_url": "http://127.0.0.1:9/webhooks/{bank}",
        "fake_bank.sender": "off", "fake_bank.seed": "7"})
    try:
        with serving(app) as url:
            yield url
    finally:
        app.registry["fb.session_factory"].kw["bind"].dispose()


def real_banks(url):
    from wallet.banking.banks import load_banks

    settings = dict(LEDGERLINE_SETTINGS)
    banks_served_by(settings, url, ("hdfc", "axis", "icici"))
    return load_banks(settings)


@pytest.mark.parametrize("code, ifsc", [("hdfc", IFSC), ("icici", "ICIC0001234")])
def test_the_fake_bank_names_its_accounts_in_either_dialect(fake_bank_url, code, ifsc):
    banks = real_banks(fake_bank_url)
    saved = SavedBankAccounts(None, banks, None, policy=BankAccountPolicy(),
                              client_for=lambda bank: BankClient(bank, timeout_s=5,
                                                                 observer=NO_OBSERVER))
    # The demo customers: 5010<bank's place><customer's place>, Asha first.
    place = list(banks).index(code)
    demo = f"5010{place:02d}{0:08d}"
    assert saved.look_up(code, demo, demo, ifsc).name == "Asha Verma"
    other = saved.look_up(code, NUMBER, NUMBER, ifsc).name
    assert other and saved.look_up(code, NUMBER, NUMBER, ifsc).name == other  # the same each time
    with pytest.raises(BankAccountUnknown):
        saved.look_up(code, "000012345678", "000012345678", ifsc)


def test_a_failing_fake_bank_is_a_clear_refusal(tmp_path):
    app = fake_bank.main({}, **{
        **BANK_SETTINGS, "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'fb.sqlite'}",
        "fake_bank.webhook_url": "http://127.0.0.1:9/webhooks/{bank}",
        "fake_bank.sender": "off", "fake_bank.failure_rate": "1"})
    try:
        with serving(app) as url:
            settings = dict(BANK_SETTINGS)
            banks_served_by(settings, url, ("hdfc", "axis"))
            from wallet.banking.banks import load_banks
            banks = load_banks(settings)
            saved = SavedBankAccounts(None, banks, None, policy=BankAccountPolicy(),
                                      client_for=lambda bank: BankClient(
                                          bank, timeout_s=5, observer=NO_OBSERVER))
            with pytest.raises(BankNotAnswering, match="HDFC Bank did not answer"):
                saved.look_up("hdfc", NUMBER, NUMBER, IFSC)
    finally:
        app.registry["fb.session_factory"].kw["bind"].dispose()
