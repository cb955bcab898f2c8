"""What every secret credential of ours shares (users' API tokens, shops'
keys): 32 random bytes behind a visible prefix, shown once and kept only as a
SHA-256 (high-entropy secrets need no slow hash), and a last-use time written
at most once a minute rather than on every request."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

#: last_used_at is written at most this often per credential.
TOUCH_EVERY = dt.timedelta(seconds=60)


def new_secret(prefix: str) -> str:
    """``prefix`` and 43 URL-safe characters (secrets.token_urlsafe(32))."""
    return prefix + secrets.token_urlsafe(32)


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def due_for_touch(last_used_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_used_at is None or now - last_used_at >= TOUCH_EVERY
