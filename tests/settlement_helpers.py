"""Shops' automatic settlement in tests (wallet.banking.auto_settlement): a
clock the test moves, services and the workers' sweep on it, a shop with a
registered account and a schedule, payments, a bank that pays every payout."""
from __future__ import annotations

import dataclasses
import datetime as dt
import random

from sqlalchemy import func, select

from ledgerlib import Ledger
from wallet.banking.models import Settlement, SettlementPayout
from wallet.banking.payouts import PayoutPolicy, PayoutProcessor
from wallet.core.codes import IST
from wallet.core.models import Merchant, Transaction, User
from wallet.identity.accounts import AccountService
from wallet.merchants.models import MerchantEndpoint
from wallet.money import shop_shards
from wallet.services import Background, Services

from .schedule_helpers import Clock
from .schedule_helpers import settings as base_settings
from .wallet_helpers import PASSWORD, PIN, SHOP_ACCOUNT, SHOP_PIN, TEST_BANKS

__all__ = ["Clock", "PayingBank", "account_of", "background", "balance_of", "drive_payouts",
           "make_shop", "pay", "services", "set_schedule", "settlements_of"]

FAST = PayoutPolicy(lease_s=30, retry_budget=3, backoff_base_s=0.0, backoff_cap_s=0.0)
#: A Monday, 08:00 in India.
START = dt.datetime(2026, 12, 14, 8, 0, tzinfo=IST)


def banks(cap_paise: int = 0) -> dict:
    """The test banks, HDFC capping each payout at ``cap_paise`` (0: none)."""
    return {**TEST_BANKS, "hdfc": dataclasses.replace(TEST_BANKS["hdfc"],
                                                      max_payout_paise=cap_paise)}


def settings(cap_paise: int = 0, **changes):
    return dataclasses.replace(base_settings(**changes), banks=banks(cap_paise))


def services(session, clock, cap_paise: int = 0, **changes) -> Services:
    return Services(session, settings(cap_paise, **changes), clock=clock)


def background(runner, clock, cap_paise: int = 0, **changes) -> Background:
    return Background(runner, settings(cap_paise, **changes), clock=clock)


def make_shop(db, clock, handle: str = "chai-point", *, webhook: bool = True) -> int:
    """A shop with its PIN and HDFC account registered (not yet past its
    cooling-off: advance the clock a day), and a webhook endpoint that
    wants settlement.processed."""
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4, clock=clock).signup_merchant(
            handle, handle.replace("-", " ").title(), f"{handle}@example.com", PASSWORD)
        s = services(session, clock)
        s.merchant_pins.set_first(merchant, SHOP_PIN, SHOP_PIN)
        bank, number, ifsc = SHOP_ACCOUNT
        s.merchant_bank_accounts.add(merchant, bank, number, number, ifsc, pin=SHOP_PIN)
        if webhook:
            session.add(MerchantEndpoint(
                merchant_id=merchant.id, url=f"https://{handle}.example/hooks",
                events="settlement.processed", secret="whsec_" + "A" * 43, enabled=True,
                disabled_reason="", created_at=clock()))
        return merchant.id


def account_of(db, merchant_id: int) -> int:
    with db() as session:
        shop = session.get_one(Merchant, merchant_id)
        return services(session, Clock(START)).merchant_bank_accounts.registered(shop)[0].id


def set_schedule(db, clock, merchant_id: int, mode: str, times: str = "",
                 min_balance: str = "", pin: str = SHOP_PIN):
    account = account_of(db, merchant_id)
    with db() as session, session.begin():
        auto = services(session, clock).auto_settlements
        shop = session.get_one(Merchant, merchant_id)
        new = auto.read_schedule(mode, times, min_balance, account)
        return auto.set_schedule(shop, new, pin).next_run_at


def pay(db, clock, user_id: int, handle: str, amount_paise: int, key: str) -> int:
    with db() as session, session.begin():
        return services(session, clock).shop_payments.pay_merchant(
            session.get_one(User, user_id), handle, amount_paise, key, "", pin=PIN).id


def balance_of(db, merchant_id: int):
    with db() as session:
        return shop_shards.balance(Ledger(session), session.get_one(Merchant, merchant_id))


def settlements_of(db, merchant_id: int) -> list[Settlement]:
    with db() as session:
        found = list(session.scalars(select(Settlement).where(
            Settlement.merchant_id == merchant_id).order_by(Settlement.id)))
        session.expunge_all()
        return found


def payouts_of(db, settlement_id: int) -> list[tuple[int, int, str]]:
    """(part's amount, its transaction's amount, its status) of each payout."""
    with db() as session:
        return [tuple(row) for row in session.execute(
            select(SettlementPayout.amount_paise, Transaction.amount_paise, Transaction.status)
            .join(Transaction, Transaction.id == SettlementPayout.transaction_id)
            .where(SettlementPayout.settlement_id == settlement_id)
            .order_by(SettlementPayout.part))]


def count_of(db, model, *where) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


class PayingBank:
    """A bank that pays every payout (but those whose reference is in ``refuse``)."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.paid: dict[str, int] = {}

    def __call__(self, bank):
        return self

    def send_payout(self, payload):
        if payload["reference"] in self.refuse:
            return {"status": "rejected", "reason": "account closed"}
        self.paid[payload["reference"]] = payload["amount_paise"]
        return {"status": "accepted"}

    def payout_status(self, reference):
        return {"status": "accepted"} if reference in self.paid else None


def drive_payouts(runner, clock, merchant_ids, bank: PayingBank, cap_paise: int = 0) -> None:
    """The payout workers: every shop's payouts through ``bank``."""
    processor = PayoutProcessor(
        runner, banks(cap_paise), bank, policy=FAST,
        withdrawals_for=lambda session: services(session, clock, cap_paise).withdrawals,
        clock=clock, rng=random.Random(1))
    for merchant_id in merchant_ids:
        processor.drain(f"merchant:{merchant_id}", "test-worker")
