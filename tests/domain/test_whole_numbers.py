"""A whole number typed in a form or a query (wallet.core.text.whole_number):
ASCII digits only, of a bounded length -- "²" is a digit to str.isdigit but
not to int(), and a 200-digit number overflows the database's integers."""
from __future__ import annotations

import pytest

from wallet.core.text import whole_number


@pytest.mark.parametrize("text, expected", [
    ("7", 7), (" 42 ", 42), ("0", 0), ("123456", 123456),
    ("²", None), ("١٢", None), ("-1", None), ("1.5", None), ("", None), ("  ", None),
    ("1" * 19, None), (None, None), (12, None),
])
def test_whole_numbers(text, expected):
    assert whole_number(text) == expected


def test_a_bound_on_the_digits():
    assert whole_number("1234567", max_digits=6) is None
    assert whole_number("123456", max_digits=6) == 123456
