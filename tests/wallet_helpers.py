"""Test data helpers: users with money, balances, row counts (real commits)."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

import ledgerlib
from wallet.banking import deposits
from wallet.banking.bank_client import BankClient
from wallet.banking.banks import load_banks
from wallet.banking.deposits import DepositService
from wallet.banking.merchant_bank_accounts import BankAccountPolicy, MerchantBankAccounts
from wallet.banking.payouts import PayoutPolicy, PayoutProcessor
from wallet.banking.withdrawals import WithdrawalService
from wallet.core.codes import utcnow
from wallet.core.models import Merchant, Transaction, User
from wallet.core.observe import NO_OBSERVER
from wallet.identity.accounts import AccountService
from wallet.identity.kyc import ApproveAllVerifier, KycDetails, KycService, KycVerdict
from wallet.identity.merchant_pins import MerchantPins
from wallet.identity.pan_vault import PanKeys, PanVault
from wallet.identity.pin_hashes import parse_pin_keys
from wallet.identity.pins import PinPolicy, Pins
from wallet.merchants.disputes import DisputePolicy, Disputes
from wallet.merchants.payment_requests import PaymentRequests
from wallet.merchants.refunds import Refunds
from wallet.merchants.stores import Stores
from wallet.money.activity import Activity
from wallet.money.limits import LimitPolicy, WalletLimits
from wallet.money.shop_payments import ShopPayments
from wallet.money.transfer_holds import TransferHolds, UndoPolicy
from wallet.money.transfers import Transfers
from wallet.operations.operator_actions import OperatorActions
from wallet.seed import demo_pan
from wallet.services import Services
from wallet.settings import WalletSettings

from .conftest import BANK_SETTINGS, TEST_PAN_SETTINGS, TEST_PIN, TEST_PIN_KEY_ID, TEST_PIN_KEYS

TEST_BANKS = load_banks(BANK_SETTINGS)
#: The vault the test apps have (the same keys: a PAN given here is theirs too).
TEST_PAN_VAULT = PanVault(PanKeys.from_settings(TEST_PAN_SETTINGS))

PASSWORD = "correct horse battery"
#: Every test user's wallet PIN (the API document's example, as wallet-dev's demo users).
PIN = TEST_PIN
#: Every test shop's PIN, and the bank account it settles to.
SHOP_PIN = "8642"
SHOP_ACCOUNT = ("hdfc", "50100099887766", "HDFC0001234")


class RegistryStub:
    """A KYC verifier as production has one (not development-only): it knows
    the PANs in ``REGISTRY`` (PAN -> name) and answers with their names."""

    name = "registry stub (tests)"
    REGISTRY: dict[str, str] = {}

    def __init__(self, settings=None) -> None:
        self.settings = settings

    def verify(self, details: KycDetails, /) -> KycVerdict:
        registered = self.REGISTRY.get(details.pan)
        if registered is None:
            return KycVerdict(False, reason="The PAN registry has no such PAN.")
        return KycVerdict(True, reference=f"stub-{len(self.REGISTRY)}",
                          registered_name=registered)


def pan_of(phone: str) -> str:
    """A test user's own PAN (one per phone number, as one per wallet)."""
    return demo_pan(int(re.sub(r"\D", "", phone)[-10:]))


#: The PIN policy of the test apps (web_settings): their key, the default tries and lock.
TEST_PIN_POLICY = PinPolicy(keys=parse_pin_keys(TEST_PIN_KEYS, TEST_PIN_KEY_ID,
                                                production=False))


#: The settings' defaults (wallet.settings), as the services are built with them.
DEFAULTS = WalletSettings(raw={})
#: Deposits pending longer than this are given up (the settings' default).
EXPIRE_AFTER = dt.timedelta(seconds=DEFAULTS.deposit_expire_after_s)


def pins_service(session, *, clock=utcnow, pin_policy=TEST_PIN_POLICY) -> Pins:
    """The wallet PINs as the test apps check them (their PIN key)."""
    return Pins(session, policy=pin_policy, clock=clock)


def transfers_service(session, *, clock=utcnow, pin_policy=TEST_PIN_POLICY,
                      limit_policy=None, max_transfer_paise=None,
                      undo_policy=None) -> Transfers:
    """The domain's Transfers as the test apps make them (their PIN key)."""
    return Transfers(session, clock=clock, ledger=ledgerlib.Ledger(session, clock=clock),
                     pins=pins_service(session, clock=clock, pin_policy=pin_policy),
                     limits=WalletLimits(session, policy=limit_policy or LimitPolicy(),
                                         clock=clock),
                     max_transfer_paise=max_transfer_paise or DEFAULTS.max_transfer_paise,
                     holds=TransferHolds(session, clock=clock,
                                         ledger=ledgerlib.Ledger(session, clock=clock),
                                         policy=undo_policy or UndoPolicy()))


def shop_payments_service(session, *, clock=utcnow, pin_policy=TEST_PIN_POLICY,
                          max_transfer_paise=None) -> ShopPayments:
    """The domain's ShopPayments as the test apps make them (their PIN key)."""
    return ShopPayments(session, clock=clock, ledger=ledgerlib.Ledger(session, clock=clock),
                        pins=pins_service(session, clock=clock, pin_policy=pin_policy),
                        max_transfer_paise=max_transfer_paise or DEFAULTS.max_transfer_paise)


def payment_requests(session, *, tasks=None, clock=utcnow) -> PaymentRequests:
    """PaymentRequests paid through :func:`shop_payments_service` (on the same clock)."""
    return PaymentRequests(session, shop_payments=shop_payments_service(session, clock=clock),
                           stores=Stores(session, clock=clock), tasks=tasks, clock=clock)


def activity_service(session, *, clock=utcnow) -> Activity:
    return Activity(session, ledger=ledgerlib.Ledger(session, clock=clock))


def merchant_bank_accounts(session, banks=TEST_BANKS, pins=None, policy=None, **kwargs
                           ) -> MerchantBankAccounts:
    clock = kwargs.get("clock", utcnow)
    pins = pins or MerchantPins(session, policy=TEST_PIN_POLICY, clock=clock)
    return MerchantBankAccounts(session, banks, pins, policy=policy or BankAccountPolicy(),
                                **kwargs)


def withdrawal_service(session, banks=TEST_BANKS, **kwargs) -> WithdrawalService:
    """WithdrawalService with the test apps' PIN policy (on the same clock)."""
    clock = kwargs.get("clock", utcnow)
    kwargs.setdefault("ledger", ledgerlib.Ledger(session, clock=clock))
    kwargs.setdefault("pins", pins_service(session, clock=clock))
    kwargs.setdefault("bank_accounts", merchant_bank_accounts(session, banks, clock=clock))
    return WithdrawalService(session, banks, **kwargs)


def deposit_service(session, banks=TEST_BANKS, **kwargs) -> DepositService:
    """DepositService with the default limits (on the same clock)."""
    clock = kwargs.get("clock", utcnow)
    kwargs.setdefault("ledger", ledgerlib.Ledger(session, clock=clock))
    kwargs.setdefault("limits", WalletLimits(session, policy=LimitPolicy(), clock=clock))
    return DepositService(session, banks, **kwargs)


def refunds(session, **kwargs) -> Refunds:
    """Refunds within the default limits (on the same clock)."""
    clock = kwargs.get("clock", utcnow)
    kwargs.setdefault("ledger", ledgerlib.Ledger(session, clock=clock))
    kwargs.setdefault("limits", WalletLimits(session, policy=LimitPolicy(), clock=clock))
    return Refunds(session, **kwargs)


def wallet_limits(session, **kwargs) -> WalletLimits:
    return WalletLimits(session, **{"policy": LimitPolicy(), **kwargs})


def operator_actions(session, banks, actor, **kwargs) -> OperatorActions:
    clock = kwargs.get("clock", utcnow)
    return OperatorActions(session, banks, actor, **{
        "deposit_expire_after_s": DEFAULTS.deposit_expire_after_s,
        "deposits": deposit_service(session, banks, clock=clock),
        "withdrawals": withdrawal_service(session, banks, clock=clock,
                                          tasks=kwargs.get("tasks")),
        "disputes": Disputes(session, policy=DisputePolicy(), clock=clock,
                             follower=lambda dispute: None,
                             ledger=ledgerlib.Ledger(session, clock=clock)), **kwargs})


def payout_processor(run_in_transaction, banks, client_for, policy=None, **kwargs
                     ) -> PayoutProcessor:
    clock = kwargs.get("clock", utcnow)
    kwargs.setdefault("withdrawals_for",
                      lambda session: withdrawal_service(session, banks, clock=clock))
    return PayoutProcessor(run_in_transaction, banks, client_for,
                           policy=policy or PayoutPolicy(), **kwargs)


def bank_client(bank) -> BankClient:
    """A bank's client with the settings' timeout."""
    return BankClient(bank, timeout_s=DEFAULTS.bank_timeout_s, observer=NO_OBSERVER)


def sweep_stuck_deposits(run_in_transaction, banks, client_for, **kwargs) -> dict[str, int]:
    """The sweeper with the settings' defaults unless told otherwise."""
    kwargs.setdefault("deposits_for", lambda session: deposit_service(session, banks))
    kwargs.setdefault("older_than", dt.timedelta(seconds=DEFAULTS.deposit_stuck_after_s))
    kwargs.setdefault("expire_after", EXPIRE_AFTER)
    return deposits.sweep_stuck_deposits(run_in_transaction, banks, client_for, **kwargs)


def services_for_tests(session, **kwargs) -> Services:
    """The services as the test apps build them: the test banks, PIN and PAN keys."""
    settings = WalletSettings(raw={}, banks=TEST_BANKS, bcrypt_rounds=4,
                              pin_keys=TEST_PIN_POLICY.keys,
                              pan_keys=PanKeys.from_settings(TEST_PAN_SETTINGS))
    return Services(session, settings, **kwargs)


def make_user(db, phone: str, name: str = "Test User", deposit_paise: int = 0, *,
              full_kyc: bool = True, pin: str | None = PIN) -> int:
    """A user (full KYC and the test PIN unless told otherwise), with money."""
    with db() as session, session.begin():
        user = AccountService(session, bcrypt_rounds=4).signup(phone, name, PASSWORD)
        if full_kyc:
            KycService(session, ApproveAllVerifier(), TEST_PAN_VAULT).record(
                user, KycDetails(name, pan_of(phone), dt.date(1990, 1, 1)), "test")
        if pin is not None:
            Pins(session, policy=TEST_PIN_POLICY).set_first(user, pin, pin)
        if deposit_paise:
            deposit_service(session).record_completed(
                user, "hdfc", deposit_paise, f"test-deposit-{user.id:06d}"
            )
        return user.id


def ready_to_settle(db, merchant_id: int, account: tuple[str, str, str] = SHOP_ACCOUNT, *,
                    pin: str = SHOP_PIN) -> int:
    """A shop's PIN (unless set already) and a registered bank account, added
    two days before now (past the cooling-off): the account's id."""
    with db() as session, session.begin():
        merchant = session.get(Merchant, merchant_id)
        pins = MerchantPins(session, policy=TEST_PIN_POLICY)
        if not pins.has_pin(merchant):
            pins.set_first(merchant, pin, pin)
        added = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)
        bank, number, ifsc = account
        return merchant_bank_accounts(session, TEST_BANKS, pins, clock=lambda: added).add(
            merchant, bank, number, number, ifsc, pin=pin).id


def balance(db, user_id: int) -> tuple[int, int]:
    """(available, held) paise of the user's wallet."""
    with db() as session:
        b = ledgerlib.Ledger(session).balance(f"user:{user_id}:wallet")
        return b.available_paise, b.held_paise


def count(db, model) -> int:
    with db() as session:
        return _count(session, model)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def state(db) -> tuple:
    """Everything money-related, to assert that a refused request changed nothing."""
    with db() as session:
        ledger_rows = tuple(
            _count(session, table)
            for table in (ledgerlib.schema.entries, ledgerlib.schema.postings,
                          ledgerlib.schema.holds)
        )
        balances = tuple(session.execute(
            select(ledgerlib.schema.accounts.c.code, ledgerlib.schema.accounts.c.posted_paise,
                   ledgerlib.schema.accounts.c.held_paise).order_by(ledgerlib.schema.accounts.c.id)
        ).all())
        return ledger_rows, balances, _count(session, Transaction), _count(session, User)


def login(app, phone: str, password: str = PASSWORD):
    page = app.get("/login")
    form = page.forms["login-form"]
    form["phone"] = phone
    form["password"] = password
    return form.submit(expect_errors=True)


def confirm(response, pin: str = PIN):
    """Submit a money form's confirm page with the PIN: what was the form's
    submit before the confirm step (``response``: the confirm page)."""
    form = response.forms["confirm-form"]
    form["pin"] = pin
    return form.submit(expect_errors=True)


def pin_form(page, name: str, pin: str = PIN):
    """A page's form with the PIN typed in (the checkout form asks for it)."""
    form = page.forms[name]
    form["pin"] = pin
    return form


class PinForm:
    """A money form (send, pay, withdraw) whose ``submit`` goes on through the
    confirm step with the PIN, as a person would: what one submit did before
    the confirm step. Fields are set on it as on the webtest form."""

    def __init__(self, form, pin: str = PIN):
        self.form, self.pin = form, pin

    def __getattr__(self, name):  # fields, set(), ...: the webtest form's
        return getattr(self.form, name)

    def __getitem__(self, name):
        return self.form[name]

    def __setitem__(self, name, value):
        self.form[name] = value

    def submit(self, *args, status=None, **kwargs):
        response = self.form.submit(*args, expect_errors=True, **kwargs)
        if response.status_int == 200 and "confirm-form" in response.forms:
            response = confirm(response, self.pin)
        if status is None:
            assert response.status_int < 400, response
        elif status != "*":
            assert response.status_int == status, response
        return response


def csrf_token(app, path: str = "/dashboard") -> str:
    page = app.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def write_ini(path, settings: dict) -> str:
    """An ini file whose [app:user] holds ``settings`` (for CLIs and subprocesses)."""
    lines = ["[app:user]", "use = egg:wallet#user"]
    lines += [f"{key} = {str(value).replace('%', '%%')}" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def sms_texts(db, phone: str) -> list[str]:
    """The SMS the outbox gateway sent to ``phone`` (E.164), oldest first."""
    from wallet.identity.models import SmsOutbox

    with db() as session:
        return list(session.scalars(select(SmsOutbox.text).where(SmsOutbox.phone == phone)
                                    .order_by(SmsOutbox.id)))


def sms_code(db, phone: str) -> str:
    """The one-time code of the latest SMS to ``phone``."""
    texts = sms_texts(db, phone)
    assert texts, f"no SMS to {phone}"
    return re.match(r"\d{6}", texts[-1]).group(0)


def sign_up_with_code(app, db, name: str, phone: str, password: str = PASSWORD):
    """Sign up on the user app's pages: the form, then the code from the outbox."""
    from wallet.core.phone import normalize_phone

    form = app.get("/signup").forms["signup-form"]
    form["name"], form["phone"], form["password"] = name, phone, password
    sent = form.submit()
    assert sent.status_int == 303 and sent.location.endswith("/signup/verify"), sent.text[:500]
    verify = sent.follow().forms["verify-form"]
    verify["code"] = sms_code(db, normalize_phone(phone))
    return verify.submit()
