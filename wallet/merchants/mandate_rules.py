"""The rules of an AutoPay mandate that need no database: its policy (the
pre-debit notice, the PIN cap), what a shop may ask for, and the period a
debit falls in (India time). Used by wallet.merchants.mandates."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledgerlib import format_paise

from ..core.codes import IST, MandateFrequency
from ..core.errors import WalletError
from ..core.text import is_ordinary, one_line

MAX_DESCRIPTION_CHARS = 140
#: The longest a mandate may run (from its start to its end).
MAX_SPAN_DAYS = 10 * 366
#: The least notice the customer gets before a debit, in production.
MIN_PRODUCTION_NOTICE_S = 24 * 3600.0


@dataclass(frozen=True)
class MandatePolicy:
    #: A debit executes no earlier than this after it was presented (and the
    #: customer notified): time to pause or revoke.
    notice_s: float = 24 * 3600.0
    #: A debit above this needs the customer's PIN each time (awaiting_pin).
    pin_cap_paise: int = 15_000_00


@dataclass(frozen=True)
class NewMandate:
    """What a shop's server asks for (the API has parsed the JSON's types)."""

    max_amount_paise: int
    frequency: str
    start_date: dt.date
    end_date: dt.date
    description: str


def check_new(new: NewMandate, *, today: dt.date, max_paise: int) -> str:
    """Refuse a mandate that could never be right (WalletError naming the
    field); its description as stored."""
    amount = new.max_amount_paise
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise WalletError("max_amount_paise must be a whole number of paise above zero, "
                          "like 49900.", "max_amount_paise")
    if amount > max_paise:
        raise WalletError(f"max_amount_paise: at most {format_paise(max_paise)} a debit.",
                          "max_amount_paise")
    if new.frequency not in MandateFrequency.ALL:
        raise WalletError("frequency must be one of " + ", ".join(MandateFrequency.ALL) + ".",
                          "frequency")
    if new.start_date < today:
        raise WalletError(f"start_date is in the past: today is {today.isoformat()} "
                          "(India time).", "start_date")
    if new.end_date < new.start_date:
        raise WalletError("end_date is before start_date.", "end_date")
    if (new.end_date - new.start_date).days > MAX_SPAN_DAYS:
        raise WalletError("A mandate runs at most 10 years.", "end_date")
    description = one_line(new.description)
    if not description or len(description) > MAX_DESCRIPTION_CHARS or not is_ordinary(
            description):
        raise WalletError(f"description: 1 to {MAX_DESCRIPTION_CHARS} ordinary characters "
                          "(the customer sees it).", "description")
    return description


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of ``day`` in India (a mandate's bounds)."""
    return dt.datetime.combine(day, dt.time(), IST)


def ist_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(IST).date()


def period_key(frequency: str, moment: dt.datetime, debit_public_id: str) -> str:
    """The period ``moment`` falls in (India time): at most one debit each.
    An "as presented" mandate has none: each debit is its own."""
    day = ist_day(moment)
    if frequency == MandateFrequency.DAILY:
        return day.isoformat()
    if frequency == MandateFrequency.WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if frequency == MandateFrequency.MONTHLY:
        return f"{day.year}-{day.month:02d}"
    if frequency == MandateFrequency.YEARLY:
        return str(day.year)
    return debit_public_id


FREQUENCY_TEXT = {MandateFrequency.DAILY: "at most once a day",
                  MandateFrequency.WEEKLY: "at most once a week",
                  MandateFrequency.MONTHLY: "at most once a month",
                  MandateFrequency.YEARLY: "at most once a year",
                  MandateFrequency.AS_PRESENTED: "when presented"}
