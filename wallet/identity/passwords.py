"""What a password must be: long enough, short enough for bcrypt, and not one
that is guessed first (a common password, the phone number, the shop's
handle...). Guessability is zxcvbn's estimate, a well-kept port of Dropbox's."""
from __future__ import annotations

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
    estimate = zxcvbn(password, user_inputs=details)
    if estimate["score"] < MIN_SCORE:
        return ("That password is too easy to guess (a common password or pattern). "
                "Try a few unrelated words.")
    return None
