"""Demo data for a fresh development database: two users with money and a
transfer between them, and a tea shop with five months of payments, a shop PIN
and a registered bank account to settle to, all made through the domain's own
services (so they obey every rule real ones do)."""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select

from .core.codes import Kind
from .core.models import Merchant, User
from .identity.accounts import AccountService
from .identity.kyc import ApproveAllVerifier, KycDetails, KycService
from .identity.pins import PinApproval
from .money import records
from .money.bulk_payments import ShopPayment, pay_shop_batch
from .services import Services

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


def seed_demo(services: Services) -> list[str]:
    """Two users with money and one transfer between them. Returns log-in lines."""
    if services.db.scalar(select(User.id).limit(1)) is not None:
        return []
    accounts = services.accounts
    # The demo users' KYC is approved whatever verifier is configured.
    kyc = services.kyc_verified_by(ApproveAllVerifier())
    deposits = services.deposits
    bank_code = next(iter(services.banks))
    users: list[User] = []
    for phone, name, deposit_paise in DEMO_USERS:
        user = demo_user(services, accounts, kyc, phone, name)
        deposits.record_completed(user, bank_code, deposit_paise, f"demo-deposit-{user.id:06d}")
        users.append(user)
    services.transfers.send_money(users[0], users[1].phone, 350_00, "demo-transfer-0001",
                                  note="Dinner at Saravana Bhavan", pin=DEMO_PIN)
    merchant = accounts.signup_merchant(DEMO_MERCHANT["handle"], DEMO_MERCHANT["name"],
                                        DEMO_MERCHANT["email"], DEMO_PASSWORD)
    seed_shop_history(services, accounts, kyc, merchant)
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


def demo_user(services: Services, accounts: AccountService, kyc: KycService,
              phone: str, name: str) -> User:
    """A demo user with full KYC (a made-up PAN of their own) and the demo PIN."""
    user = accounts.signup(phone, name, DEMO_PASSWORD)
    kyc.record(user, KycDetails(name, demo_pan(int(phone[-10:])), dt.date(1990, 1, 1)), "demo")
    services.pins.set_first(user, DEMO_PIN, DEMO_PIN)
    return user


def demo_shop_bank_account(services: Services, merchant: Merchant, *,
                           registered_at: dt.datetime) -> None:
    """The demo shop's PIN, and its bank account registered long ago (so past
    any cooling-off: the demo can settle at once)."""
    services.merchant_pins.set_first(merchant, DEMO_SHOP_PIN, DEMO_SHOP_PIN)
    bank = next(iter(services.banks.values()))
    prefix = bank.ifsc_prefixes[0] if bank.ifsc_prefixes else "HDFC"
    replace(services, clock=lambda: registered_at).merchant_bank_accounts.add(
        merchant, bank.code, DEMO_SHOP_ACCOUNT, DEMO_SHOP_ACCOUNT, f"{prefix}0001234",
        pin=DEMO_SHOP_PIN)


def seed_shop_history(services: Services, accounts: AccountService, kyc: KycService,
                      merchant: Merchant) -> None:
    """A few months of a tea shop's takings, so its charts show something real:
    regulars paying ₹20-₹450 through the day, busier on weekends (seeded,
    repeatable). Each day's payments go to the ledger as one batch, stamped at
    the day's last payment."""
    rng = random.Random(42)
    now = dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(days=DEMO_HISTORY_DAYS + 1)  # before the first payment
    demo_shop_bank_account(services, merchant, registered_at=start)
    regulars: list[tuple[User, PinApproval]] = []
    for i in range(6):
        user = demo_user(services, accounts, kyc, f"+9190000{i:05d}",
                         f"Regular {i + 1}")
        replace(services, clock=lambda: start).deposits.record_completed(
            user, next(iter(services.banks)), 1_00_000_00, f"demo-regular-deposit-{i:06d}")
        # One PIN check for the whole history (its tries counted once).
        regulars.append((user, services.pins.approve(user, DEMO_PIN)))
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
                records.idempotency_key(Kind.PAYMENT, payer,
                                        f"demo-pay-{day:04d}-{n:04d}-xyz"),
                rng.choice(notes), pin=approval))
        if payments:
            closing = max(m for m in moments if m <= now)
            pay_shop_batch(replace(services, clock=_stopped_clock(closing)).shop_payments,
                           merchant, payments)


def _stopped_clock(moment: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock that always reads ``moment``."""
    return lambda: moment
