"""The confirm steps of scheduled payments (wallet.money.quotes): a schedule
approved with the PIN, and a run above the per-run cap paid with the PIN.

The details are read here once for the pages (text as typed) and the API
(JSON values), every field's problem at once: the amount as any payment's
(read_amount, the transfer's or the shop payment's range), the payee (a phone
or a shop's handle, exactly one), the frequency, the dates (the start not in
the past in India, nor more than a year ahead; the end not before the start),
the count, the note."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledgerlib import format_paise

from ..core.codes import ScheduleFrequency
from ..core.models import Transaction, User
from ..core.text import whole_number
from ..identity.pins import PinInput
from . import records
from .models import PaymentSchedule
from .quotes import AmountInput, ConfirmText, read_amount, refuse_if_any
from .schedule_dates import RUN_TIME, today_in_india

if TYPE_CHECKING:
    from .schedules import NewSchedule, PaymentSchedules

__all__ = ["RunQuote", "ScheduleQuote", "quote_schedule"]

MAX_COUNT = 120
MAX_DAYS_AHEAD = 366
#: A date as typed or sent: ``2027-01-31``.
DateInput = str | dt.date | None


def _date(value: DateInput, name: str, problems: dict[str, str]) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        if isinstance(value, str) and len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    problems[name] = "Give a date like 2027-01-31."
    return None


def _count(value: str | int | None, problems: dict[str, str]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = whole_number(value, max_digits=6)
    if type(value) is not int or not 1 <= value <= MAX_COUNT:
        problems["count"] = f"The number of payments is a whole number from 1 to {MAX_COUNT}."
        return None
    return value


def read_schedule(schedules: PaymentSchedules, *, to_phone: str | None,
                  merchant_handle: str | None, amount: AmountInput, frequency: str,
                  start_date: DateInput, end_date: DateInput = None,
                  count: str | int | None = None, note: str = "") -> NewSchedule:
    """The details checked (every problem at once: WalletError.of_fields)."""
    from .schedules import NOTE_CHARS, NewSchedule

    problems: dict[str, str] = {}
    to_phone, merchant_handle = (to_phone or "").strip() or None, \
        (merchant_handle or "").strip() or None
    if (to_phone is None) == (merchant_handle is None):
        problems["phone"] = "Give a phone number or a shop's handle (one of them)."
    check = (schedules.transfers.check_transfer_amount if to_phone is not None
             else schedules.shop_payments.check_payment_amount)
    amount_paise = read_amount(amount, problems, check=check,
                               max_paise=schedules.transfers.max_transfer_paise)
    if frequency not in ScheduleFrequency.ALL:
        problems["frequency"] = "Choose once, weekly or monthly."
    today = today_in_india(schedules.clock())
    start = _date(start_date, "start_date", problems)
    if start is None and "start_date" not in problems:
        problems["start_date"] = "Give the date of the first payment."
    elif start is not None and start < today:
        problems["start_date"] = "The first payment cannot be in the past."
    elif start is not None and start > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        problems["start_date"] = "The first payment must be within a year."
    end = _date(end_date, "end_date", problems)
    runs = _count(count, problems)
    if end is not None and start is not None and end < start:
        problems["end_date"] = "The last date cannot be before the first payment."
    if frequency == ScheduleFrequency.ONCE and (end is not None or runs is not None):
        problems["frequency"] = "A one-off payment has no end date or count."
    if end is not None and runs is not None:
        problems["count"] = "Give an end date or a number of payments, not both."
    note = " ".join((note or "").split())
    if len(note) > NOTE_CHARS or records.note_problem(note) is not None:
        problems["note"] = f"Keep the note to {NOTE_CHARS} characters."
    refuse_if_any(problems)
    assert amount_paise is not None and start is not None  # (no problem: read)
    return NewSchedule(to_phone=to_phone, merchant_handle=merchant_handle,
                       amount_paise=amount_paise, frequency=ScheduleFrequency(frequency),
                       start_date=start, end_date=end, count=runs, note=note)


def describe_rule(frequency: str, start: dt.date, end: dt.date | None,
                  count: int | None) -> str:
    """"every month on the 31st (the last day of shorter months), from 31 Jan 2027, 12 times"."""
    first = start.strftime("%-d %b %Y")
    if frequency == ScheduleFrequency.ONCE:
        return f"once, on {first}"
    if frequency == ScheduleFrequency.WEEKLY:
        rule = f"every week on {start.strftime('%A')}s"
    else:
        rule = f"every month on day {start.day}"
        if start.day > 28:
            rule += " (the last day of shorter months)"
    rule += f", from {first}"
    if count is not None:
        rule += f", {count} time{'s' if count != 1 else ''}"
    elif end is not None:
        rule += f", until {end.strftime('%-d %b %Y')}"
    else:
        rule += ", until you cancel it"
    return rule


@dataclass(frozen=True)
class ScheduleQuote:
    """A schedule to approve with the PIN: PaymentSchedules.create."""

    schedules: PaymentSchedules
    payer: User
    new: NewSchedule

    @property
    def amount_paise(self) -> int:
        return self.new.amount_paise

    def preview(self, request_key: str) -> ConfirmText:
        records.idempotency_key("schedule", self.payer, request_key)
        payee = self.schedules.payee(self.payer, self.new)
        new = self.new
        details = [f"Runs {describe_rule(new.frequency, new.start_date, new.end_date, new.count)}"
                   f", at {RUN_TIME:%H:%M} India time."]
        cap = self.schedules.policy.run_cap_paise
        if new.amount_paise > cap:
            details.append(f"Above {format_paise(cap)}: each run waits for your PIN in the app.")
        else:
            details.append("Each run is paid without asking for your PIN again.")
        if new.note:
            details.append(f"Note: {new.note}")
        return ConfirmText(f"Schedule {format_paise(new.amount_paise)} to {payee.name}?",
                           tuple(details))

    def confirm(self, pin: PinInput, request_key: str) -> PaymentSchedule:
        return self.schedules.create(self.payer, self.new, request_key, pin=pin)


@dataclass(frozen=True)
class RunQuote:
    """A run above the cap, paid with the PIN: PaymentSchedules.pay_awaiting
    (the run's own key, whatever the form's)."""

    schedules: PaymentSchedules
    payer: User
    public_id: str
    run_number: int

    @property
    def amount_paise(self) -> int:
        return self.schedules.awaiting(self.payer, self.public_id, self.run_number)[0] \
            .amount_paise

    def preview(self, request_key: str) -> ConfirmText:
        schedule, run = self.schedules.awaiting(self.payer, self.public_id, self.run_number)
        payee = self.schedules.payee_of(schedule)
        return ConfirmText(f"Pay {format_paise(schedule.amount_paise)} to {payee.name}?",
                           (f"Scheduled for {run.due_date.strftime('%-d %b %Y')} "
                            f"(payment {run.run_number}).",))

    def confirm(self, pin: PinInput, request_key: str) -> Transaction:
        return self.schedules.pay_awaiting(self.payer, self.public_id, self.run_number, pin=pin)


def quote_schedule(schedules: PaymentSchedules, payer: User, **fields: object) -> ScheduleQuote:
    return ScheduleQuote(schedules, payer, read_schedule(schedules, **fields))  # type: ignore[arg-type]
