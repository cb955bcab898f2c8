"""The bank webhook signature contract (docs/webhooks.md).

    X-Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=...]

Several v1 values may be sent, and several secrets may be valid at once, so a
bank can rotate its secret without a moment of rejected webhooks.
"""
from __future__ import annotations

import hashlib
import hmac
import re

TOLERANCE_S = 300
MAX_HEADER_CHARS = 600
_HEX64 = re.compile(r"[0-9a-f]{64}")


class SignatureError(Exception):
    def __init__(self, verdict: str, message: str):
        super().__init__(message)
        self.verdict = verdict


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(header: str | None, body: bytes, secrets: tuple[str, ...], now_s: float) -> None:
    """Raise :class:`SignatureError` unless ``header`` signs ``body`` recently."""
    if not header:
        raise SignatureError("missing_signature", "X-Bank-Signature header is missing")
    if len(header) > MAX_HEADER_CHARS:
        raise SignatureError("bad_signature", "X-Bank-Signature header is too long")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and _HEX64.fullmatch(value):
            candidates.append(value)
    if (timestamp is None or not (timestamp.isascii() and timestamp.isdigit())
            or len(timestamp) > 12):
        raise SignatureError("bad_signature", "signature has no valid t= timestamp")
    if not candidates:
        raise SignatureError("bad_signature", "signature has no valid v1= value")
    if abs(now_s - int(timestamp)) > TOLERANCE_S:
        raise SignatureError("stale_timestamp",
                             "signature timestamp is outside the 5-minute window")
    expected = [expected_signature(secret, timestamp, body) for secret in secrets]
    # compare_digest on every pair: no early exit that would leak timing.
    matched = False
    for candidate in candidates:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate, wanted)
    if not matched:
        raise SignatureError("bad_signature", "signature does not match")
