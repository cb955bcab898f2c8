"""What a shop may search its payments by, read strictly from one box:
``TXN00000123`` (our reference, as the list and the CSV show it), the last 4
to 10 digits of the payer's phone, or a word of the payer's name or the
shop's own order reference. Anything else is refused with a message saying
what to type, never guessed at."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from ..core.errors import WalletError
from ..core.text import is_ordinary, one_line

__all__ = ["MAX_SEARCH_CHARS", "PaymentSearch", "SearchBy", "parse_search"]

MAX_SEARCH_CHARS = 64  # an order reference's length
_REFERENCE = re.compile(r"TXN\s*([0-9]{1,18})", re.ASCII | re.IGNORECASE)
#: A phone's digits as people type them: spaces, dashes, a leading +.
_PHONE = re.compile(r"\+?[0-9][0-9 -]*", re.ASCII)
#: Besides letters (with their marks) and digits, what names and order
#: references (wallet.merchants.payment_requests) are written with.
_TEXT_PUNCTUATION = frozenset(" .'’:/#_-")
HOW = ("Search by TXN and the reference (TXN00000123), the last 4 to 10 digits of the "
       "payer's phone, or the payer's name or your order reference.")


class SearchBy(StrEnum):
    REFERENCE = "reference"  # our transaction id
    PHONE = "phone"  # the payer's phone ends with these digits
    TEXT = "text"  # the payer's name contains it, or the order reference is it


@dataclass(frozen=True)
class PaymentSearch:
    by: SearchBy
    value: str
    #: As typed (white space tidied): an order reference equal to it is found
    #: too, whatever it looked like (a shop's references may be all digits).
    typed: str

    @property
    def transaction_id(self) -> int:
        return int(self.value)


def parse_search(text: str | None, field: str = "q") -> PaymentSearch | None:
    """The search typed in ``text`` (None: nothing typed); WalletError on ``field``."""
    text = one_line(text)
    if not text:
        return None
    if len(text) > MAX_SEARCH_CHARS or not is_ordinary(text):
        raise WalletError(f"Keep the search to {MAX_SEARCH_CHARS} ordinary characters. "
                          + HOW, field)
    if found := _REFERENCE.fullmatch(text):
        return PaymentSearch(SearchBy.REFERENCE, str(int(found.group(1))), text)
    if _PHONE.fullmatch(text):
        digits = re.sub(r"[^0-9]", "", text)
        if len(digits) == 12 and digits.startswith("91"):  # +91 and the whole number
            digits = digits[2:]
        if not 4 <= len(digits) <= 10:
            raise WalletError(f"“{text}”: type 4 to 10 digits of the payer's phone "
                              "(its last digits), or TXN before a reference.", field)
        return PaymentSearch(SearchBy.PHONE, digits, text)
    if len(text) < 2 or not all(_text_char(c) for c in text):
        raise WalletError(f"“{text[:20]}” cannot be searched for. " + HOW, field)
    return PaymentSearch(SearchBy.TEXT, text, text)


def _text_char(char: str) -> bool:
    return char in _TEXT_PUNCTUATION or unicodedata.category(char)[0] in "LMN"
