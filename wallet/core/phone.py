"""Indian mobile numbers, normalised to E.164 (``+919876543210``)."""
from __future__ import annotations

import re


class InvalidPhone(ValueError):
    pass


_SEPARATORS = re.compile(r"[\s\-().]")
_MOBILE = re.compile(r"[6-9][0-9]{9}", re.ASCII)


def normalize_phone(text: str) -> str:
    """Accepts ``98765 43210``, ``+91-98765-43210``, ``098765 43210``, ``919876543210``."""
    digits = _SEPARATORS.sub("", (text or "").strip())
    if len(digits) > 20:
        raise InvalidPhone("Enter a 10-digit Indian mobile number, like 98765 43210.")
    for prefix in ("+91", "0091"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
            break
    else:
        if len(digits) == 12 and digits.startswith("91"):
            digits = digits[2:]
        elif len(digits) == 11 and digits.startswith("0"):
            digits = digits[1:]
    if not _MOBILE.fullmatch(digits):
        raise InvalidPhone("Enter a 10-digit Indian mobile number, like 98765 43210.")
    return "+91" + digits
