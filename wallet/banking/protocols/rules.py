"""The rules every bank's webhook signature obeys, whatever its dialect:
signed within 5 minutes of our clock (either way), by one of the bank's
current secrets, compared in constant time. A protocol only reads its headers
(:meth:`BankProtocol.read_signature`) and computes its MAC
(:meth:`BankProtocol.mac`); the judging is done here, once."""
from __future__ import annotations

import hmac
from collections.abc import Callable

from ..verdicts import Verdict
from .base import SignedParts

TOLERANCE_S = 300
MAX_HEADER_CHARS = 600
#: Unix seconds: up to 12 digits (the year 33658 is far enough).
MAX_TIMESTAMP_DIGITS = 12


class SignatureError(Exception):
    """A delivery that is not (recently) signed by its bank: ``verdict`` is
    missing_signature, bad_signature or stale_timestamp."""

    def __init__(self, verdict: Verdict, message: str):
        super().__init__(message)
        self.verdict = verdict


def header_text(value: str | None, name: str) -> str:
    """A signature header's value, present and of a sane length."""
    if not value:
        raise SignatureError(Verdict.MISSING_SIGNATURE, f"{name} header is missing")
    if len(value) > MAX_HEADER_CHARS:
        raise SignatureError(Verdict.BAD_SIGNATURE, f"{name} header is too long")
    return value


def is_unix_seconds(text: str | None) -> bool:
    return (text is not None and text.isascii() and text.isdigit()
            and len(text) <= MAX_TIMESTAMP_DIGITS)


def check_signature(parts: SignedParts, body: bytes, secrets: tuple[str, ...], now_s: float,
                    mac: Callable[[str, SignedParts, bytes], str]) -> None:
    """Raise :class:`SignatureError` unless one of ``parts.signatures`` is
    ``mac(secret, parts, body)`` for one of ``secrets``, made recently."""
    if abs(now_s - int(parts.timestamp)) > TOLERANCE_S:
        raise SignatureError(Verdict.STALE_TIMESTAMP,
                             "signature timestamp is outside the 5-minute window")
    expected = [mac(secret, parts, body) for secret in secrets]
    # compare_digest on every pair: no early exit that would leak timing.
    matched = False
    for candidate in parts.signatures:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate.encode(), wanted.encode())
    if not matched:
        raise SignatureError(Verdict.BAD_SIGNATURE, "signature does not match")
