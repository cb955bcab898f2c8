"""A statement as files: CSV (UTF-8 with a BOM, so spreadsheets show ₹ and •)
and PDF (fpdf2, in DejaVu Sans, which has ₹; where that font is not installed
the PDF says "Rs." in a built-in font instead). Every PDF page has a header
(the wallet, the person, the month, the account) and a footer (when it was
generated, "computer-generated", "Page 2 of 5")."""
from __future__ import annotations

import csv
import datetime as dt
import io
import pathlib

from fpdf import FPDF

from ledgerlib import format_paise, to_decimal_string

from ..core.codes import IST
from ..core.text import spreadsheet_safe
from .statements import Statement

#: Debian's fonts-dejavu-core (bin/test.sh installs it for CI).
FONT_DIRS = (pathlib.Path("/usr/share/fonts/truetype/dejavu"),
             pathlib.Path("/usr/local/share/fonts/truetype/dejavu"))
#: The product's name on the PDF's header (the apps' top bar says the same).
WALLET_NAME = "Wallet"
CSV_HEADER = ["date_ist", "reference", "description", "counterparty", "note",
              "amount_inr", "balance_inr"]


def _when(statement: Statement) -> str:
    return statement.until.astimezone(IST).strftime("%d %b %Y %H:%M IST")


def statement_filename(statement: Statement, extension: str) -> str:
    return f"wallet-statement-{statement.month.label}.{extension}"


def statement_csv(statement: Statement) -> bytes:
    """The statement as CSV: a summary on top, one row per movement, the totals."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Wallet statement", statement.month.label, spreadsheet_safe(
        statement.holder_name), statement.holder_phone, "", "", ""])
    writer.writerow(CSV_HEADER)
    start = statement.month.start.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")
    writer.writerow([start, "", "Opening balance", "", "", "",
                     to_decimal_string(statement.opening_paise)])
    for line in statement.lines:
        writer.writerow([
            line.posted_at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S"), line.reference,
            line.kind, spreadsheet_safe(line.counterparty), spreadsheet_safe(line.note),
            to_decimal_string(line.change_paise), to_decimal_string(line.balance_paise),
        ])
    until = statement.until.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")
    writer.writerow([until, "", "Closing balance", "", "", "",
                     to_decimal_string(statement.closing_paise)])
    writer.writerow(["", "", "Money in", "", "", to_decimal_string(statement.money_in_paise), ""])
    writer.writerow(["", "", "Money out", "", "",
                     to_decimal_string(-statement.money_out_paise), ""])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _font_files() -> tuple[pathlib.Path, pathlib.Path] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _StatementPDF(FPDF):
    def __init__(self, statement: Statement, generated_at: dt.datetime) -> None:
        super().__init__(format="A4")
        self.statement, self.generated_at = statement, generated_at
        fonts = _font_files()
        self.unicode = fonts is not None
        if fonts is not None:
            self.add_font("DejaVu", "", str(fonts[0]))
            self.add_font("DejaVu", "B", str(fonts[1]))
        self.family = "DejaVu" if self.unicode else "Helvetica"
        self.set_auto_page_break(True, margin=22)  # room for the footer

    def header(self) -> None:
        """Every page: whose statement, of which month (a loose page says so)."""
        statement = self.statement
        self.set_font(self.family, "B", 9)
        self.cell(0, 5, self.text_of(f"{WALLET_NAME} · Statement for {statement.month.title}"),
                  new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, "", 8)
        self.cell(0, 5, self.text_of(
            f"{statement.holder_name} · Account {statement.holder_phone}"),
            new_x="LMARGIN", new_y="NEXT")
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(4)

    def footer(self) -> None:
        """Every page: when it was generated, that no one signed it, its number."""
        self.set_y(-15)
        self.set_font(self.family, "", 7)
        generated = self.generated_at.astimezone(IST).strftime("%d %b %Y %H:%M IST")
        self.cell(0, 4, self.text_of(
            f"Generated at {generated}. This is a computer-generated statement; "
            "it needs no signature."), new_x="LMARGIN", new_y="NEXT")
        # {nb}: fpdf2 writes the page count in when the document is finished.
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")

    def text_of(self, text: str) -> str:
        """Built-in fonts know Latin-1 only: spell the rupee and the dots out."""
        if self.unicode:
            return text
        text = text.replace("₹", "Rs. ").replace("•", "*").replace("—", "-").replace("−", "-")
        return text.encode("latin-1", "replace").decode("latin-1")

    def money(self, amount_paise: int) -> str:
        return self.text_of(format_paise(amount_paise))

    def line_of_text(self, text: str, *, size: int = 10, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.cell(0, 7, self.text_of(text), new_x="LMARGIN", new_y="NEXT")


def statement_pdf(statement: Statement, generated_at: dt.datetime | None = None) -> bytes:
    """The statement as a PDF: the same figures as :func:`statement_csv`.
    ``generated_at`` (the caller's clock; default: the statement's end) is
    printed in every page's footer."""
    pdf = _StatementPDF(statement, generated_at or statement.until)
    pdf.set_title(f"Wallet statement {statement.month.label}")
    pdf.set_creation_date(statement.until)  # the same statement, the same bytes
    pdf.add_page()
    pdf.line_of_text(f"Wallet statement · {statement.month.title}", size=16, bold=True)
    pdf.line_of_text(f"{statement.holder_name} ({statement.holder_phone})")
    pdf.line_of_text(f"Up to {_when(statement)}", size=9)
    pdf.ln(3)
    pdf.line_of_text(f"Opening balance {pdf.money(statement.opening_paise)}", bold=True)
    pdf.set_font(pdf.family, "", 8)
    with pdf.table(col_widths=(24, 26, 28, 52, 30, 30),
                   text_align=("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT")) as table:
        table.row([pdf.text_of(h) for h in (
            "Date (IST)", "Reference", "Description", "Counterparty · note", "Amount",
            "Balance")])
        for line in statement.lines:
            who = line.counterparty + (f" · {line.note}" if line.note else "")
            table.row([
                line.posted_at.astimezone(IST).strftime("%d %b %Y %H:%M"), line.reference,
                pdf.text_of(line.kind), pdf.text_of(who),
                ("+" if line.change_paise > 0 else "") + pdf.money(line.change_paise),
                pdf.money(line.balance_paise),
            ])
    if not statement.lines:
        pdf.line_of_text("No movements in this month.", size=9)
    pdf.ln(3)
    pdf.line_of_text(f"Money in {pdf.money(statement.money_in_paise)}")
    pdf.line_of_text(f"Money out {pdf.money(statement.money_out_paise)}")
    pdf.line_of_text(f"Closing balance {pdf.money(statement.closing_paise)}", bold=True)
    return bytes(pdf.output())
