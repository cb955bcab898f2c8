"""Strict conversion between user-typed amounts and integer minor units.

Money is always an ``int`` of minor units (paise for INR). Text is parsed with
a strict grammar -- ASCII digits, an optional point and at most two decimals --
so ``"1e3"``, ``"-5"``, ``"1.005"``, ``"١٠"`` (non-ASCII digits) and floats are
all rejected instead of being guessed at.
"""
from __future__ import annotations

import re

from .errors import InvalidAmount

#: The largest single amount the library accepts by default: Rs 1,000 crore.
#: Balances are BIGINT, so this leaves ample head-room for sums.
MAX_AMOUNT_PAISE = 10**12

_MINOR_UNITS_PER_MAJOR = 100
# re.ASCII: \d would otherwise accept Devanagari, Arabic-Indic and other digits.
_AMOUNT_RE = re.compile(r"(\d+)(?:\.(\d{1,2}))?", re.ASCII)
_MAX_INPUT_CHARS = 32


_ASCII_WHITESPACE = " \t\n\r\x0b\x0c"


def parse_amount(
    text: str,
    *,
    allow_zero: bool = False,
    max_paise: int = MAX_AMOUNT_PAISE,
) -> int:
    """Parse a rupee amount such as ``"250"`` or ``"250.50"`` into paise.

    Surrounding ASCII whitespace is ignored; everything else must match
    ``digits[.d[d]]``. Raises :class:`InvalidAmount` with a message fit to show
    a user.
    """
    if not isinstance(text, str):
        # A float such as 0.1 + 0.2 has no exact paise value; refuse to guess.
        raise InvalidAmount(f"amount must be text, not {type(text).__name__}")
    stripped = text.strip(_ASCII_WHITESPACE)  # not str.strip(): "\x1c1" is no amount
    if not stripped:
        raise InvalidAmount("Enter an amount.")
    if len(stripped) > _MAX_INPUT_CHARS:
        raise InvalidAmount("That amount is too large.")
    if stripped.startswith("-"):
        raise InvalidAmount("The amount must be positive.")
    match = _AMOUNT_RE.fullmatch(stripped)
    if match is None:
        if re.fullmatch(r"\d*\.\d{3,}", stripped, re.ASCII):
            raise InvalidAmount("Use at most two decimal places (paise).")
        raise InvalidAmount("Enter the amount in rupees, like 250 or 250.50.")
    rupees, fraction = match.group(1), match.group(2) or ""
    paise = int(rupees) * _MINOR_UNITS_PER_MAJOR + int(fraction.ljust(2, "0") or 0)
    if paise == 0 and not allow_zero:
        raise InvalidAmount("The amount must be more than zero.")
    if paise > max_paise:
        raise InvalidAmount(f"The amount can be at most {format_paise(max_paise)}.")
    return paise


def check_paise(amount_paise: object, *, allow_zero: bool = False) -> int:
    """Assert that ``amount_paise`` is a positive ``int`` (not bool/float) and return it."""
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
        raise InvalidAmount(
            f"amount_paise must be an int, not {type(amount_paise).__name__}"
        )
    if amount_paise < 0:
        raise InvalidAmount("amount_paise must not be negative")
    if amount_paise == 0 and not allow_zero:
        raise InvalidAmount("amount_paise must be more than zero")
    if amount_paise > MAX_AMOUNT_PAISE:
        raise InvalidAmount(f"amount_paise exceeds the limit of {MAX_AMOUNT_PAISE}")
    return amount_paise


def to_decimal_string(amount_paise: int) -> str:
    """``10050`` -> ``"100.50"``; ``-5`` -> ``"-0.05"``. The inverse of parse_amount."""
    sign = "-" if amount_paise < 0 else ""
    rupees, paise = divmod(abs(amount_paise), _MINOR_UNITS_PER_MAJOR)
    return f"{sign}{rupees}.{paise:02d}"


def _group_indian(digits: str) -> str:
    """Indian digit grouping: 1234567 -> 12,34,567 (lakh and crore)."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    if head:
        pairs.insert(0, head)
    return ",".join(pairs) + "," + tail


def format_paise(amount_paise: int, currency: str = "INR") -> str:
    """Display form: ``12345678`` -> ``"₹1,23,456.78"``. For display only."""
    sign = "-" if amount_paise < 0 else ""
    rupees, paise = divmod(abs(amount_paise), _MINOR_UNITS_PER_MAJOR)
    symbol = "₹" if currency == "INR" else f"{currency} "
    return f"{sign}{symbol}{_group_indian(str(rupees))}.{paise:02d}"
