"""What a password must be: long enough, short enough for bcrypt, and not one
that is guessed first (a common password, the phone number, the shop's
handle...). Guessability is zxcvbn's estimate, a well-kept port of Dropbox's."""
from __future__ import annotations

import re
from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores anything longer: refuse it instead
#: zxcvbn's score 0..4; below 2 means "guessed in well under a day online".
MIN_SCORE = 2


def password_problem(password: str, personal: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused (a sentence for the form), or None.
    ``personal`` are the person's own details (phone, name, email), which a
    guesser tries first."""
    password = password or ""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"Use at least {MIN_PASSWORD_CHARS} characters for your password."
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        return "That password is too long (72 bytes at most)."
    details = [d for d in personal if d]
    digits = "".join(c for c in password if c.isdigit())
    for detail in details:
        detail_digits = "".join(c for c in detail if c.isdigit())
        if password.strip().lower() == detail.strip().lower() or (
                len(detail_digits) >= 8 and digits.endswith(detail_digits[-10:])
                and len(digits) >= len(password) - 3):
            return "Do not use your phone number or your own details as your password."
    if _built_from_details(password, details):
        return "Do not build your password from your name or your own details."
    # zxcvbn matches user inputs as whole words: give it each part of a
    # name ("Neha Sharma" -> neha, sharma) and the parts run together.
    words = [w for d in details for w in _WORD.findall(d.lower()) if len(w) >= 3]
    estimate = zxcvbn(password, user_inputs=details + words + ["".join(words)])
    if estimate["score"] < MIN_SCORE:
        return ("That password is too easy to guess (a common password or pattern). "
                "Try a few unrelated words.")
    return None


_WORD = re.compile(r"[^\W\d_]+")


def _built_from_details(password: str, details: Iterable[str]) -> bool:
    """True when the password's letters are only words of the person's own
    details (a name's parts, in any order or case) and the rest is digits or
    symbols: "Sharma123", "Neha@1990", "nehasharma" for Neha Sharma."""
    words = {w for d in details for w in _WORD.findall(d.lower()) if len(w) >= 3}
    letters = "".join(_WORD.findall(password.lower()))
    if not words or not letters:
        return False
    return _made_of(letters, words)


def _made_of(text: str, words: set[str]) -> bool:
    if not text:
        return True
    return any(text.startswith(w) and _made_of(text[len(w):], words) for w in words)
