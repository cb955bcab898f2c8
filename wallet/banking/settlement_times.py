"""When a shop's automatic settlement is due (wallet.banking.auto_settlement):
times of day in India, read strictly from what the shop typed
("11:00, 17:00"), and the next due instant after a moment.

    daily_times  at each of the shop's times, every India day
    t_plus_1     once a day at T_PLUS_1_AT, settling what came in before that
                 day began (the days before: "T+1")
    off          never (settle by hand)
"""
from __future__ import annotations

import datetime as dt
import re

from ..core.codes import IST, SettlementMode
from ..core.errors import WalletError

__all__ = ["MAX_TIMES", "T_PLUS_1_AT", "last_due", "next_due", "parse_times", "times_text"]

#: The time of day (India) a T+1 settlement runs.
T_PLUS_1_AT = dt.time(10, 0)
#: The most times of day a shop may set.
MAX_TIMES = 6
_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", re.ASCII)


def parse_times(text: str) -> tuple[dt.time, ...]:
    """``"11:00, 17:00"`` -> (11:00, 17:00): 24-hour India times, comma
    separated, each once; refused with a message naming the bad one."""
    parts = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not parts:
        raise WalletError("Enter at least one time of day, like 11:00 or 11:00, 17:00.",
                          "times")
    if len(parts) > MAX_TIMES:
        raise WalletError(f"Set at most {MAX_TIMES} times a day.", "times")
    times = set()
    for part in parts:
        found = _TIME.fullmatch(part)
        if found is None:
            raise WalletError(f"{part[:10]!r} is not a time of day: use 24-hour HH:MM, "
                              "like 17:30.", "times")
        times.add(dt.time(int(found[1]), int(found[2])))
    return tuple(sorted(times))


def times_text(times: tuple[dt.time, ...]) -> str:
    """As stored and shown: ``"11:00,17:00"``."""
    return ",".join(f"{t:%H:%M}" for t in times)


def _times_of(mode: str, times: str) -> tuple[dt.time, ...]:
    if mode == SettlementMode.T_PLUS_1:
        return (T_PLUS_1_AT,)
    if mode == SettlementMode.DAILY_TIMES and times:
        return parse_times(times)
    return ()


def next_due(mode: str, times: str, after: dt.datetime) -> dt.datetime | None:
    """The first due instant strictly after ``after`` (UTC), or None (off)."""
    each = _times_of(mode, times)
    if not each:
        return None
    day = after.astimezone(IST).date()
    for offset in range(3):  # today's times, else tomorrow's first
        for at in each:
            due = dt.datetime.combine(day + dt.timedelta(days=offset), at, IST)
            if due > after:
                return due.astimezone(dt.timezone.utc)
    raise AssertionError("a time of day always comes within two days")


def last_due(mode: str, times: str, at: dt.datetime) -> dt.datetime | None:
    """The last due instant at or before ``at`` (UTC), or None (off): the
    window a late sweep settles when earlier ones were missed."""
    each = _times_of(mode, times)
    if not each:
        return None
    day = at.astimezone(IST).date()
    for offset in range(3):  # today's times, else yesterday's last
        for when in reversed(each):
            due = dt.datetime.combine(day - dt.timedelta(days=offset), when, IST)
            if due <= at:
                return due.astimezone(dt.timezone.utc)
    raise AssertionError("a time of day always comes within two days")
