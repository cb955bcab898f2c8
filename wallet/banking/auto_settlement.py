"""A shop's balance to its registered bank account by itself (issue "A shop
runs its counter on it"): on a schedule, or all of it now, in as many bank
payouts as the bank's per-payout cap needs, with a report per settlement.

    schedule   mode (daily at set India times, T+1, off), a minimum balance kept in
               the wallet, a registered account (wallet.banking.merchant_bank_accounts:
               the number typed twice, its cooling-off); saved with the shop PIN,
               which is the standing approval of the payouts it makes; notified.
    a run      the workers' sweep claims a due schedule SKIP LOCKED, moves it to its
               next window, and settles available (posted - held, so a dispute's
               hold is never settled) less the minimum kept, if anything is above
               it; the window's key (``settlement:<shop>:<due instant>``, unique)
               makes each window settle at most once, whoever sweeps.
    settle all the whole available balance, now, by the shop (its PIN above
               ``confirm_above_paise``).
    progress   each payout settled by the bank (WithdrawalService.settle) tells
               :class:`SettlementProgress`: all paid -> paid, the
               ``settlement.processed`` event with the bank references; one refused
               or returned -> failed (its money is back in the wallet by the
               withdrawal's own path), the shop notified.

Locks (docs/architecture.md, "Lock order"): the schedule (4, SKIP LOCKED), then
the bank account (4), then each payout's hold and accounts (7, 8) as a
withdrawal's; a payout settled locks its withdrawal (4), then its settlement.
Payouts go to the bank after commit (the payout workers' lanes).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerlib import InvalidAmount, Ledger, format_paise, parse_amount
from ledgerlib import tables as lt

from ..core import codes
from ..core.codes import (
    IST,
    SettlementMode,
    SettlementStatus,
    SettlementTrigger,
    utcnow,
)
from ..core.errors import WalletError
from ..core.models import Merchant, Transaction
from ..core.notifications import MerchantNotice, notify_merchant
from ..identity.merchant_pins import MerchantPins
from ..identity.pins import PinInput
from ..money import shop_shards
from ..money.freeze import ensure_can_spend
from ..money.quotes import AmountInput
from .banks import BankConfig
from .errors import NothingToSettle, SettlementNotFound
from .merchant_bank_accounts import MerchantBankAccounts, moment_text
from .models import (
    MerchantBankAccount,
    Settlement,
    SettlementPayout,
    SettlementSchedule,
    Withdrawal,
)
from .settlement_reports import SettlementReport, settlement_report
from .settlement_times import last_due, next_due, parse_times, times_text
from .withdrawals import MIN_WITHDRAWAL_PAISE, WithdrawalService

__all__ = ["AutoSettlements", "ScheduleInput", "SettlementPolicy", "SweepStep", "split"]

#: The most a minimum balance may be (₹1 crore): a typo, else.
MAX_MIN_BALANCE_PAISE = 1_00_00_000_00


@dataclass(frozen=True)
class SettlementPolicy:
    #: A settlement by hand above this needs the shop PIN
    #: (``wallet.merchant_settle_confirm_above_paise``).
    confirm_above_paise: int = 25_000_00


@dataclass(frozen=True)
class ScheduleInput:
    """A schedule as the shop set it, read strictly."""

    mode: SettlementMode
    times: str
    min_balance_paise: int
    bank_account_id: int | None


@dataclass(frozen=True)
class SweepStep:
    """One schedule's due window, handled: its settlement, or why none."""

    schedule_id: int
    settlement: Settlement | None
    reason: str = ""


def split(amount_paise: int, cap_paise: int) -> list[int]:
    """``amount_paise`` in as few payouts as ``cap_paise`` allows (0: no cap),
    as even as whole paise go (so none is tiny)."""
    if cap_paise <= 0 or amount_paise <= cap_paise:
        return [amount_paise]
    parts = -(-amount_paise // cap_paise)
    base, extra = divmod(amount_paise, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def read_min_balance(value: AmountInput | None, problems: dict[str, str]) -> int | None:
    """The minimum balance: rupees as typed (blank: none), or the API's paise."""
    try:
        if value is None or (isinstance(value, str) and not value.strip()):
            return 0
        if isinstance(value, str):
            return parse_amount(value, allow_zero=True, max_paise=MAX_MIN_BALANCE_PAISE)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidAmount("Enter the minimum balance in paise, a whole number.")
        if not 0 <= value <= MAX_MIN_BALANCE_PAISE:
            raise InvalidAmount(f"Keep between ₹0 and {format_paise(MAX_MIN_BALANCE_PAISE)}.")
        return value
    except InvalidAmount as exc:
        problems["min_balance"] = str(exc)
        return None


def disputes_held(ledger: Ledger, merchant: Merchant) -> int:
    """What disputes hold in the shop's wallet now (their holds, pending)."""
    holds, accounts = lt.holds, lt.accounts
    return int(ledger.session.connection().execute(
        select(func.coalesce(func.sum(holds.c.amount_paise), 0))
        .select_from(holds.join(accounts, accounts.c.id == holds.c.source_account_id))
        .where(accounts.c.code == merchant.wallet_code, holds.c.status == "pending",
               holds.c.idempotency_key.like("dispute:%"))).scalar_one())


class AutoSettlements:
    def __init__(self, dbsession: Session, banks: Mapping[str, BankConfig], *,
                 policy: SettlementPolicy, ledger: Ledger, withdrawals: WithdrawalService,
                 bank_accounts: MerchantBankAccounts, pins: MerchantPins,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.banks = banks
        self.policy = policy
        self.ledger = ledger
        self.withdrawals = withdrawals
        self.bank_accounts = bank_accounts
        self.pins = pins
        self.clock = clock

    # ------------------------------------------------------------- reading

    def schedule_of(self, merchant: Merchant) -> SettlementSchedule | None:
        return self.db.scalar(select(SettlementSchedule).where(
            SettlementSchedule.merchant_id == merchant.id))

    def history(self, merchant: Merchant, *, limit: int = 50,
                before_id: int | None = None, livemode: bool = True) -> list[Settlement]:
        """The shop's settlements, newest first. Live-only (the rule of
        wallet.merchants.modes.in_mode for a type without ``livemode``, which
        banking does not import): a test caller has none."""
        if not livemode:
            return []
        stmt = select(Settlement).where(Settlement.merchant_id == merchant.id)
        if before_id is not None:
            stmt = stmt.where(Settlement.id < before_id)
        return list(self.db.scalars(stmt.order_by(Settlement.id.desc()).limit(limit)))

    def get(self, merchant: Merchant, public_id: str, *, livemode: bool = True) -> Settlement:
        """The shop's settlement; for a test caller none is found, exactly as
        an unknown id (live-only, as :meth:`history`)."""
        found = None if not livemode else self.db.scalar(select(Settlement).where(
            Settlement.public_id == str(public_id)[:40], Settlement.merchant_id == merchant.id))
        if found is None:
            raise SettlementNotFound("No such settlement of yours.")
        return found

    def payouts(self, settlement: Settlement) -> list[tuple[SettlementPayout, Transaction]]:
        return [(p, t) for p, t in self.db.execute(
            select(SettlementPayout, Transaction)
            .join(Transaction, Transaction.id == SettlementPayout.transaction_id)
            .where(SettlementPayout.settlement_id == settlement.id)
            .order_by(SettlementPayout.part)).tuples()]

    def report(self, merchant: Merchant, public_id: str, *,
               livemode: bool = True) -> SettlementReport:
        """One of the shop's settlements with its report (SettlementNotFound)."""
        settlement = self.get(merchant, public_id, livemode=livemode)
        return settlement_report(self.db, settlement,
                                 self.account_name(settlement.bank_account_id))

    def needs_pin(self, amount_paise: int) -> bool:
        """Whether settling ``amount_paise`` by hand asks for the shop PIN."""
        return amount_paise > self.policy.confirm_above_paise

    def account_name(self, account_id: int) -> str:
        account = self.db.get(MerchantBankAccount, account_id)
        return self.bank_accounts.name(account) if account is not None else ""

    # --------------------------------------------------------- the schedule

    def read_schedule(self, mode: str, times: str, min_balance: AmountInput,
                      account: str | int | None) -> ScheduleInput:
        """The form's (or a caller's) fields read strictly, every problem at once."""
        problems: dict[str, str] = {}
        if mode not in SettlementMode.ALL:
            problems["mode"] = "Choose when to settle: at set times, T+1, or off."
        clean_times = ""
        if mode == SettlementMode.DAILY_TIMES:
            try:
                clean_times = times_text(parse_times(times))
            except WalletError as exc:
                problems.update(exc.errors)
        keep = read_min_balance(min_balance, problems)
        account_id = None
        if isinstance(account, int):
            account_id = account
        elif account not in (None, ""):
            text = str(account)
            if text.isascii() and text.isdigit() and len(text) < 19:
                account_id = int(text)
            else:
                problems["account"] = "Choose one of your registered bank accounts."
        if mode in (SettlementMode.DAILY_TIMES, SettlementMode.T_PLUS_1) and (
                account_id is None and "account" not in problems):
            problems["account"] = "Choose the registered bank account to settle to."
        if problems:
            raise WalletError.of_fields(problems)
        assert keep is not None
        return ScheduleInput(SettlementMode(mode), clean_times, keep, account_id)

    def set_schedule(self, merchant: Merchant, new: ScheduleInput,
                     pin: PinInput) -> SettlementSchedule:
        """Save the shop's schedule, given the shop PIN (the standing approval
        of the payouts it will make); notified. The account must be the
        shop's; one still in its cooling-off is saved, and runs wait for it."""
        if new.bank_account_id is not None:
            account = self.bank_accounts.get(merchant, new.bank_account_id)
        self.pins.approve(merchant, pin)
        now = self.clock()
        schedule = self.schedule_of(merchant)
        if schedule is None:
            schedule = SettlementSchedule(merchant_id=merchant.id, created_at=now)
            self.db.add(schedule)
        schedule.mode, schedule.times = new.mode, new.times
        schedule.min_balance_paise = new.min_balance_paise
        schedule.bank_account_id = new.bank_account_id
        schedule.enabled = new.mode != SettlementMode.OFF
        schedule.next_run_at = next_due(new.mode, new.times, now)
        schedule.updated_at = now
        self.db.flush()
        if new.mode == SettlementMode.OFF:
            text = "Automatic settlement was turned off."
        else:
            text = (f"Automatic settlement ({self.describe(schedule)}) to "
                    f"{self.bank_accounts.name(account)} was set.")
        notify_merchant(self.db, merchant.id, MerchantNotice.SETTLEMENT_SCHEDULE_CHANGED,
                        text + " Not you? Reset your shop PIN with your password.", now=now)
        return schedule

    @staticmethod
    def describe(schedule: SettlementSchedule) -> str:
        """``daily at 11:00, 17:00 IST, keeping ₹500.00``."""
        if schedule.mode == SettlementMode.OFF:
            return "off"
        when = ("T+1 (each morning, what came in before that day)"
                if schedule.mode == SettlementMode.T_PLUS_1
                else f"daily at {schedule.times.replace(',', ', ')} IST")
        keep = schedule.min_balance_paise
        return when + (f", keeping {format_paise(keep)}" if keep else "")

    # ------------------------------------------------------------ settling

    def settle_all(self, merchant: Merchant, account_id: str | int, request_key: str,
                   pin: PinInput) -> Settlement:
        """The whole available balance to one of the shop's accounts, now;
        the shop PIN when it is above ``confirm_above_paise``. The same form
        twice gives the first settlement."""
        if not codes.is_request_key(request_key):
            raise WalletError("This form is out of date. Reload the page and try again.")
        key = f"settlement:{merchant.id}:now:{request_key}"
        earlier = self.db.scalar(select(Settlement).where(Settlement.window_key == key))
        if earlier is not None:
            return earlier
        ensure_can_spend(merchant)
        account = self._account(merchant, account_id)
        amount = shop_shards.balance(self.ledger, merchant).available_paise
        if amount < MIN_WITHDRAWAL_PAISE:
            raise NothingToSettle(f"Your available balance is {format_paise(amount)}: "
                                  "nothing to settle.")
        if self.needs_pin(amount):
            self.pins.approve(merchant, pin)
        now = self.clock()
        made = self._settle(merchant, account, amount, SettlementTrigger.SETTLE_ALL, key,
                            self._period_start(merchant), now, kept=0)
        if made is None:
            raise WalletError("This form was already submitted.")
        return made

    def record_manual(self, merchant: Merchant, payout: Transaction) -> Settlement:
        """A settlement by hand (the settle page's one payout, made with the
        shop PIN) in the history, so its report and webhook follow it too;
        the same payout again gives its first record."""
        key = f"settlement:{merchant.id}:payout:{payout.id}"
        earlier = self.db.scalar(select(Settlement).where(Settlement.window_key == key))
        if earlier is not None:
            return earlier
        wd = self.db.get_one(Withdrawal, payout.id)
        account = self.db.scalar(select(MerchantBankAccount).where(
            MerchantBankAccount.merchant_id == merchant.id,
            MerchantBankAccount.bank_code == payout.bank_code,
            MerchantBankAccount.account_number == wd.account_number,
            MerchantBankAccount.ifsc == wd.ifsc).order_by(MerchantBankAccount.id.desc()))
        if account is None:
            raise ValueError(f"payout {payout.id} is to no account of the shop's")
        now = self.clock()
        settlement = Settlement(
            public_id=codes.public_id("stl"), merchant_id=merchant.id,
            trigger=SettlementTrigger.MANUAL, status=SettlementStatus.PENDING,
            period_start=min(self._period_start(merchant), now), period_end=now,
            amount_paise=payout.amount_paise, kept_paise=0,
            disputes_held_paise=disputes_held(self.ledger, merchant),
            bank_account_id=account.id, bank_code=account.bank_code, window_key=key,
            created_at=now, updated_at=now)
        self.db.add(settlement)
        self.db.flush()
        self.db.add(SettlementPayout(settlement_id=settlement.id, transaction_id=payout.id,
                                     part=1, amount_paise=payout.amount_paise))
        self.db.flush()
        return settlement

    def _account(self, merchant: Merchant, account_id: str | int) -> MerchantBankAccount:
        if isinstance(account_id, str):
            if not (account_id.isascii() and account_id.isdigit() and len(account_id) < 19):
                raise WalletError("Choose one of your registered bank accounts.", "account")
            account_id = int(account_id)
        return self.bank_accounts.payable(merchant, account_id, lock=True)

    def run_due_one(self, *, passed_over: Collection[int] = (),
                    claimed: list[int] | None = None) -> SweepStep | None:
        """Handle the window due first, if any (its schedule claimed SKIP
        LOCKED and moved to its next window): the caller's transaction is
        this shop's alone. None: nothing due."""
        now = self.clock()
        due_now = [SettlementSchedule.enabled.is_(True), SettlementSchedule.next_run_at <= now]
        if passed_over:
            due_now.append(SettlementSchedule.id.not_in(list(passed_over)))
        schedule = self.db.scalar(
            select(SettlementSchedule).where(*due_now)
            .order_by(SettlementSchedule.next_run_at, SettlementSchedule.id).limit(1)
            .with_for_update(key_share=True, skip_locked=True)
            .execution_options(populate_existing=True))
        if schedule is None or schedule.next_run_at is None:
            return None
        if claimed is not None:
            claimed.append(schedule.id)
        # Missed windows (no worker ran) fold into the latest one: one settlement.
        due = max(schedule.next_run_at,
                  last_due(schedule.mode, schedule.times, now) or schedule.next_run_at)
        schedule.next_run_at = next_due(schedule.mode, schedule.times, now)
        merchant = self.db.get_one(Merchant, schedule.merchant_id)
        settlement, reason = self._scheduled(merchant, schedule, due, now)
        return SweepStep(schedule.id, settlement, reason)

    def _scheduled(self, merchant: Merchant, schedule: SettlementSchedule, due: dt.datetime,
                   now: dt.datetime) -> tuple[Settlement | None, str]:
        try:
            ensure_can_spend(merchant)
            if schedule.bank_account_id is None:
                raise WalletError("No bank account is set for automatic settlement.")
            account = self.bank_accounts.payable(merchant, schedule.bank_account_id, lock=True)
        except WalletError as exc:
            notify_merchant(self.db, merchant.id, MerchantNotice.SETTLEMENT_FAILED,
                            f"Your automatic settlement due {moment_text(due)} did not run: "
                            f"{exc}", now=now)
            return None, str(exc)
        balance = shop_shards.balance(self.ledger, merchant)
        eligible, period_end = balance.available_paise, due
        if schedule.mode == SettlementMode.T_PLUS_1:  # what came in before today (India)
            period_end = codes.ist_day_bounds(due.astimezone(IST).date())[0]
            opening = shop_shards.period_balances(self.ledger, merchant, period_end,
                                                  now).opening_paise
            eligible = min(eligible, opening - balance.held_paise)
        amount = eligible - schedule.min_balance_paise
        if amount < MIN_WITHDRAWAL_PAISE:
            return None, "nothing above the minimum balance"
        made = self._settle(merchant, account, amount, SettlementTrigger.SCHEDULED,
                            codes.settlement_window_key(merchant.id, due),
                            self._period_start(merchant), period_end,
                            kept=schedule.min_balance_paise)
        return made, "" if made else "settled already"

    def _period_start(self, merchant: Merchant) -> dt.datetime:
        last: dt.datetime | None = self.db.scalar(
            select(func.max(Settlement.period_end)).where(Settlement.merchant_id == merchant.id))
        return last or merchant.created_at

    def _settle(self, merchant: Merchant, account: MerchantBankAccount, amount_paise: int,
                trigger: SettlementTrigger, key: str, start: dt.datetime, end: dt.datetime,
                *, kept: int) -> Settlement | None:
        """Record the settlement and its payouts (their money held); None if
        its window was settled already (another worker)."""
        now = self.clock()
        cap = self.banks[account.bank_code].max_payout_paise
        settlement = Settlement(
            public_id=codes.public_id("stl"), merchant_id=merchant.id, trigger=trigger,
            status=SettlementStatus.PENDING, period_start=min(start, end), period_end=end,
            amount_paise=amount_paise, kept_paise=kept,
            disputes_held_paise=disputes_held(self.ledger, merchant),
            bank_account_id=account.id, bank_code=account.bank_code, window_key=key,
            created_at=now, updated_at=now)
        try:
            with self.db.begin_nested():  # a refused hold: no settlement either
                self.db.add(settlement)
                self.db.flush()
                for part, paise in enumerate(split(amount_paise, cap), start=1):
                    tx = self.withdrawals.settlement_payout(
                        merchant, account, paise,
                        codes.settlement_payout_request_key(settlement.public_id, part),
                        max_paise=cap or amount_paise)
                    self.db.add(SettlementPayout(settlement_id=settlement.id,
                                                 transaction_id=tx.id, part=part,
                                                 amount_paise=paise))
                self.db.flush()
        except IntegrityError:  # the window's key: another worker settled it
            return None
        return settlement
