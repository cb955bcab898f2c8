import pytest

from ledgerlib import (
    MAX_AMOUNT_PAISE,
    InvalidAmount,
    check_paise,
    format_paise,
    parse_amount,
    to_decimal_string,
)


@pytest.mark.parametrize(
    "text, paise",
    [
        ("100.50", 10050),
        ("100.5", 10050),
        ("100", 10000),
        ("0.01", 1),
        ("  250.75 ", 25075),
        ("007", 700),
        ("10000000000", MAX_AMOUNT_PAISE),
    ],
)
def test_parse_accepts_plain_rupee_amounts(text, paise):
    assert parse_amount(text) == paise


@pytest.mark.parametrize(
    "text, message",
    [
        ("1e3", "like 250 or 250.50"),
        ("-5", "positive"),
        ("1.005", "two decimal places"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("", "Enter an amount"),
        ("   ", "Enter an amount"),
        ("10000000000.01", "at most"),
        ("1" + "0" * 30, "at most"),
        ("1" + "0" * 40, "too large"),
        ("१००", "like 250"),  # Devanagari digits
        ("١٠", "like 250"),  # Arabic-Indic digits
        ("1,000", "like 250"),
        ("1 000", "like 250"),
        ("+5", "like 250"),
        (".5", "like 250"),
        ("5.", "like 250"),
        ("NaN", "like 250"),
        ("inf", "like 250"),
        ("0x10", "like 250"),
        ("12\n", None),  # trailing newline is whitespace: accepted below
    ],
)
def test_parse_rejects_everything_else(text, message):
    if message is None:
        assert parse_amount(text) == 1200
        return
    with pytest.raises(InvalidAmount, match=message):
        parse_amount(text)


@pytest.mark.parametrize("value", [100.5, 100, None, b"100", True])
def test_parse_refuses_non_text(value):
    with pytest.raises(InvalidAmount):
        parse_amount(value)


def test_parse_zero_when_allowed_and_custom_limit():
    assert parse_amount("0", allow_zero=True) == 0
    with pytest.raises(InvalidAmount, match="at most ₹1,00,000.00"):
        parse_amount("100000.01", max_paise=10_000_000)


@pytest.mark.parametrize("value", [1.0, True, -1, 0, MAX_AMOUNT_PAISE + 1, "5"])
def test_check_paise_rejects_non_positive_non_int(value):
    with pytest.raises(InvalidAmount):
        check_paise(value)


@pytest.mark.parametrize(
    "paise, shown",
    [
        (0, "₹0.00"),
        (5, "₹0.05"),
        (10050, "₹100.50"),
        (12345678, "₹1,23,456.78"),
        (1234567890, "₹1,23,45,678.90"),
        (-10050, "-₹100.50"),
    ],
)
def test_format_uses_indian_grouping(paise, shown):
    assert format_paise(paise) == shown


def test_decimal_string_round_trips():
    for paise in (1, 99, 100, 10050, 123456789):
        assert parse_amount(to_decimal_string(paise)) == paise
    assert to_decimal_string(-5) == "-0.05"
    assert format_paise(150, "USD") == "USD 1.50"


@pytest.mark.parametrize("text", ["\x1c1", "1\u2003", "\u00a010", "1\x1f"])
def test_only_ascii_whitespace_surrounds_an_amount(text):
    # str.strip() would take these for whitespace; an amount typed with them is refused.
    with pytest.raises(InvalidAmount):
        parse_amount(text)
