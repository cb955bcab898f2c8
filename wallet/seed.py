"""Demo data for a fresh development database: two users with money and a
transfer between them, and a tea shop with five months of payments, a shop PIN
and a registered bank account to settle to, all made through the domain's own
services (so they obey every rule real ones do)."""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from .banking.banks import BankConfig
from .banking.deposits import DepositService
from .banking.merchant_bank_accounts import MerchantBankAccounts
from .core.codes import Kind
from .core.models import Merchant, User
from .identity.accounts import AccountService
from .identity.kyc import ApproveAllVerifier, KycDetails, KycService
from .identity.merchant_pins import MerchantPins
from .identity.pan_vault import PanVault
from .identity.pins import PinApproval, PinPolicy, Pins
from .money.bulk_payments import ShopPayment, pay_shop_batch
from .money.transfers import WalletService

DEMO_PASSWORD = "demo-pass-123"
#: Every demo user's wallet PIN (asked before money leaves a wallet).
DEMO_PIN = "1357"
DEMO_MERCHANT = {"handle": "chai-point", "name": "Chai Point", "email": "chai@example.com"}
#: The demo shop's PIN (asked before a settlement or a change of its bank accounts).
DEMO_SHOP_PIN = "2468"
#: The demo shop's registered bank account (at the first bank, one of its branches).
DEMO_SHOP_ACCOUNT = "50100098765432"
DEMO_HISTORY_DAYS = 150
DEMO_USERS = [
    # phone, name, opening deposit in paise
    ("+919876543210", "Asha Verma", 5_000_00),
    ("+919812345678", "Ravi Kumar", 2_500_00),
]


def seed_demo(dbsession: Session, bcrypt_rounds: int, banks: Mapping[str, BankConfig],
              pan_vault: PanVault, pin_policy: PinPolicy) -> list[str]:
    """Two users with money and one transfer between them. Returns log-in lines."""
    if dbsession.scalar(select(User.id).limit(1)) is not None:
        return []
    accounts = AccountService(dbsession, bcrypt_rounds=bcrypt_rounds)
    kyc = KycService(dbsession, ApproveAllVerifier(), pan_vault)
    wallet = WalletService(dbsession, pin_policy=pin_policy)
    deposits = DepositService(dbsession, dict(banks))
    bank_code = next(iter(banks))
    users: list[User] = []
    for phone, name, deposit_paise in DEMO_USERS:
        user = demo_user(dbsession, accounts, kyc, pin_policy, phone, name)
        deposits.record_completed(user, bank_code, deposit_paise, f"demo-deposit-{user.id:06d}")
        users.append(user)
    wallet.send_money(users[0], users[1].phone, 350_00, "demo-transfer-0001",
                      note="Dinner at Saravana Bhavan", pin=DEMO_PIN)
    merchant = accounts.signup_merchant(DEMO_MERCHANT["handle"], DEMO_MERCHANT["name"],
                                        DEMO_MERCHANT["email"], DEMO_PASSWORD)
    seed_shop_history(dbsession, accounts, kyc, pin_policy, banks, merchant)
    return [f"  {user.phone}  password: {DEMO_PASSWORD}  PIN: {DEMO_PIN}  ({user.name})"
            for user in users] + [
        f"  merchant app: {merchant.email}  password: {DEMO_PASSWORD}  "
        f"shop PIN: {DEMO_SHOP_PIN}  ({merchant.name})"]


def demo_pan(number: int) -> str:
    """A made-up PAN of the right shape, one per ``number`` (below 26**5 * 10**4):
    five letters and four digits counting, then K."""
    letters, digits = divmod(number, 10_000)
    head = ""
    for _ in range(5):
        letters, letter = divmod(letters, 26)
        head = chr(ord("A") + letter) + head
    return f"{head}{digits:04d}K"


def demo_user(dbsession: Session, accounts: AccountService, kyc: KycService,
              pin_policy: PinPolicy, phone: str, name: str) -> User:
    """A demo user with full KYC (a made-up PAN of their own) and the demo PIN."""
    user = accounts.signup(phone, name, DEMO_PASSWORD)
    kyc.record(user, KycDetails(name, demo_pan(int(phone[-10:])), dt.date(1990, 1, 1)), "demo")
    Pins(dbsession, pin_policy).set_first(user, DEMO_PIN, DEMO_PIN)
    return user


def demo_shop_bank_account(dbsession: Session, pin_policy: PinPolicy,
                           banks: Mapping[str, BankConfig], merchant: Merchant, *,
                           registered_at: dt.datetime) -> None:
    """The demo shop's PIN, and its bank account registered long ago (so past
    any cooling-off: the demo can settle at once)."""
    pins = MerchantPins(dbsession, pin_policy)
    pins.set_first(merchant, DEMO_SHOP_PIN, DEMO_SHOP_PIN)
    bank = next(iter(banks.values()))
    prefix = bank.ifsc_prefixes[0] if bank.ifsc_prefixes else "HDFC"
    MerchantBankAccounts(dbsession, banks, pins, clock=lambda: registered_at).add(
        merchant, bank.code, DEMO_SHOP_ACCOUNT, DEMO_SHOP_ACCOUNT, f"{prefix}0001234",
        pin=DEMO_SHOP_PIN)


def seed_shop_history(dbsession: Session, accounts: AccountService, kyc: KycService,
                      pin_policy: PinPolicy,
                      banks: Mapping[str, BankConfig], merchant: Merchant) -> None:
    """A few months of a tea shop's takings, so its charts show something real:
    regulars paying ₹20-₹450 through the day, busier on weekends (seeded,
    repeatable). Each day's payments go to the ledger as one batch, stamped at
    the day's last payment."""
    rng = random.Random(42)
    now = dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(days=DEMO_HISTORY_DAYS + 1)  # before the first payment
    demo_shop_bank_account(dbsession, pin_policy, banks, merchant, registered_at=start)
    regulars: list[tuple[User, PinApproval]] = []
    for i in range(6):
        user = demo_user(dbsession, accounts, kyc, pin_policy, f"+9190000{i:05d}",
                         f"Regular {i + 1}")
        DepositService(dbsession, dict(banks), clock=lambda: start).record_completed(
            user, next(iter(banks)), 1_00_000_00, f"demo-regular-deposit-{i:06d}")
        # One PIN check for the whole history (its tries counted once).
        regulars.append((user, Pins(dbsession, pin_policy).approve(user, DEMO_PIN)))
    notes = ["masala chai", "2 chai + samosa", "filter coffee", "ginger tea", "", "", "snacks"]
    for day in range(DEMO_HISTORY_DAYS, -1, -1):
        date = now - dt.timedelta(days=day)
        count = rng.randint(3, 8) + (4 if date.weekday() >= 5 else 0)
        moments = sorted(date.replace(hour=rng.randint(1, 16), minute=rng.randint(0, 59))
                         for _ in range(count))
        payments = []
        for n, moment in enumerate(moments):
            if moment > now:
                continue
            payer, approval = rng.choice(regulars)
            payments.append(ShopPayment(
                payer, rng.randint(20, 450) * 100,
                WalletService.idempotency_key(Kind.PAYMENT, payer,
                                              f"demo-pay-{day:04d}-{n:04d}-xyz"),
                rng.choice(notes), pin=approval))
        if payments:
            closing = max(m for m in moments if m <= now)
            pay_shop_batch(WalletService(dbsession, clock=_stopped_clock(closing)), merchant,
                           payments)


def _stopped_clock(moment: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock that always reads ``moment``."""
    return lambda: moment
