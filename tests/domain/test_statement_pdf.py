"""The statement PDF's pages: a header (the wallet, the person, the month, the
account) and a footer (generated at, "computer-generated", "Page N of M") on
every page of a statement long enough for several pages; the Latin-1 fallback
(no DejaVu font installed) says the same."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from ledgerlib import format_paise
from wallet.core.codes import IST
from wallet.money import statement_files
from wallet.money.statement_files import statement_pdf
from wallet.money.statements import Month, Statement, StatementLine

OCTOBER = Month(2026, 10)
UNTIL = dt.datetime(2026, 10, 31, 18, 30, tzinfo=dt.timezone.utc)  # 1 Nov, 00:00 IST
GENERATED = dt.datetime(2026, 11, 20, 6, 45, tzinfo=dt.timezone.utc)  # 12:15 IST


def long_statement(count: int = 150) -> Statement:
    """``count`` movements in October: ₹1 in, ₹2 out, in turn."""
    lines, balance = [], 10_000_00
    for n in range(count):
        change = 100 if n % 2 == 0 else -200
        balance += change
        lines.append(StatementLine(
            dt.datetime(2026, 10, 1 + n % 30, 12, tzinfo=IST), change, balance,
            "Transfer", f"Ravi Kumar (+91 ••••• {n:05d})", f"note {n}", f"TXN{n:08d}"))
    return Statement("Asha Verma", "+91 ••••• 43210", OCTOBER, UNTIL, 10_000_00, balance,
                     tuple(lines))


def pages_of(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def check_every_page(pages: list[str], rupee: str) -> None:
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert text.startswith("Wallet · Statement for October 2026 "
                               "Asha Verma · Account +91 ••••• 43210"
                               .replace("•", "•" if rupee == "₹" else "*")), text[:120]
        assert "Generated at 20 Nov 2026 12:15 IST." in text
        assert "This is a computer-generated statement" in text
        assert text.endswith(f"Page {number} of {len(pages)}"), text[-60:]
        assert not re.search(r"Page \d+ of \{nb\}", text)


def test_every_page_has_the_header_the_footer_and_its_number():
    statement = long_statement()
    pages = pages_of(statement_pdf(statement, generated_at=GENERATED))
    check_every_page(pages, "₹")
    # The body is intact: the first and the last movement, the totals at the end.
    assert "TXN00000000" in pages[0] and "TXN00000149" in " ".join(pages[-2:])
    assert f"Closing balance {format_paise(statement.closing_paise)}" in pages[-1]
    # The table's headings are repeated on the pages it continues on.
    assert all("Date (IST)" in text for text in pages[:-1])


def test_the_latin_1_fallback_has_them_too(monkeypatch):
    monkeypatch.setattr(statement_files, "_font_files", lambda: None)
    pages = pages_of(statement_pdf(long_statement(), generated_at=GENERATED))
    check_every_page(pages, "Rs.")


def test_without_a_clock_the_pdf_says_the_statement_s_own_end():
    """Same statement, same bytes: the default "generated at" is its end."""
    statement = long_statement(5)
    first = statement_pdf(statement)
    assert first == statement_pdf(statement)
    assert "Generated at 01 Nov 2026 00:00 IST." in pages_of(first)[0]
    assert "Page 1 of 1" in pages_of(first)[0]


@pytest.mark.parametrize("count", [0, 1])
def test_a_short_statement_is_one_page(count):
    pages = pages_of(statement_pdf(long_statement(count), generated_at=GENERATED))
    assert len(pages) == 1 and pages[0].endswith("Page 1 of 1")
