"""Short texts people type (names, notes, reasons, descriptions): one rule for
what is ordinary text, so every field refuses the same characters."""
from __future__ import annotations

import unicodedata


def one_line(text: str | None) -> str:
    """NFC, with every run of white space (newlines too) a single space."""
    return unicodedata.normalize("NFC", " ".join((text or "").split()))


def is_ordinary(text: str) -> bool:
    """No control, format (bidi overrides...), surrogate or unassigned
    characters: Unicode's category C."""
    return not any(unicodedata.category(c)[0] == "C" for c in text)


def spreadsheet_safe(text: str) -> str:
    """Notes are typed by payers: never let a spreadsheet read one as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def whole_number(text: object, max_digits: int = 18) -> int | None:
    """``text`` as a non-negative whole number written in ASCII digits (at most
    ``max_digits`` of them), else None. ``str.isdigit`` alone is not enough:
    it accepts "²" and other digits ``int()`` refuses (a 500 instead of a 4xx)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
