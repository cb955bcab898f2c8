"""Run the suite at another date: ``WALLET_TEST_NOW=2027-12-31T18:25:00+00:00
python -m pytest -p tests.clock_shift`` (time-machine, from the test extras).

The real clock of this process starts at that instant and ticks on from it,
so a test that mixes a fixed instant with the real clock, or that assumes a
day or month does not change under it, fails. Good instants to try: a year
ahead, a few minutes before midnight in India (18:30 UTC), and the last
evening of a month there (monthly limits and statements use India's months).
Only this process moves: servers in subprocesses and Chromium keep the real
date (libfaketime would move them too, but breaks ``time.sleep`` and thread
waits under Python 3.11, so most of its failures are its own).
"""
from __future__ import annotations

import datetime as dt
import os

import pytest

_travel = None


def pytest_configure(config: pytest.Config) -> None:
    global _travel
    when = os.environ.get("WALLET_TEST_NOW", "").strip()
    if not when:
        raise pytest.UsageError("tests.clock_shift needs WALLET_TEST_NOW (an ISO instant)")
    import time_machine

    moment = dt.datetime.fromisoformat(when)
    if moment.tzinfo is None:
        raise pytest.UsageError("WALLET_TEST_NOW needs a UTC offset, e.g. +00:00")
    _travel = time_machine.travel(moment, tick=True)
    _travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _travel is not None:
        _travel.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"clock shifted: the run started at {os.environ.get('WALLET_TEST_NOW')}"
