"""How wallet PINs are stored: a keyed hash, HMAC-SHA-256 under a server-side
key that is not in the database, over a per-user random salt and the PIN.

    hmac-sha256$v<key id>$<salt>$<mac>        (salt and mac: base64url, no padding)

Why not bcrypt, as passwords are: a PIN has 10,000 (or 1,000,000) values, so
whoever holds the database and a slow hash tries them all in minutes anyway --
the slowness bought nothing but ~270 ms of CPU on every payment. What protects
a PIN is the online lock (wallet.identity.pins) and, offline, a key the database does
not hold: without it the stored MACs cannot be tested at all.

Keys are a map id -> secret with one current id (``wallet.pin_keys``,
``wallet.pin_key_id``): new hashes use the current key; a hash under another
configured key, or a bcrypt hash from before, still verifies and is re-made
under the current key on the next right entry (:attr:`Verdict.stale`).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import bcrypt

from ..core.ini import ConfigurationError, check_secret

__all__ = ["PinKeys", "Verdict", "hash_pin", "parse_pin_keys", "verify_pin"]

SCHEME = "hmac-sha256"
SALT_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9]{1,16}", re.ASCII)
#: scheme $ v<key id> $ salt (16 bytes) $ mac (32 bytes), in base64url without padding
_HASH = re.compile(rf"{SCHEME}\$v([A-Za-z0-9]{{1,16}})\$([A-Za-z0-9_-]{{22}})"
                   r"\$([A-Za-z0-9_-]{43})", re.ASCII)


@dataclass(frozen=True)
class PinKeys:
    """The PIN keys: ``secrets`` by id, and the ``current`` id new hashes use."""

    current: str
    secrets: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if not all(_KEY_ID.fullmatch(key_id) for key_id in self.secrets):
            raise ConfigurationError("PIN key ids are 1 to 16 letters or digits")
        if self.current not in self.secrets:
            raise ConfigurationError(f"the current PIN key id {self.current!r} is not among "
                                     "the configured keys")


def parse_pin_keys(text: str, current: str, *, production: bool,
                   setting: str = "wallet.pin_keys") -> PinKeys:
    """``id:secret`` pairs separated by white space (e.g. ``"2:… 1:…"`` while
    a rotation is under way), and the current id; every secret checked as
    other secrets are (production: long, random-looking, no development value)."""
    found: dict[str, bytes] = {}
    for entry in (text or "").split():
        key_id, colon, secret = entry.partition(":")
        if not colon or not _KEY_ID.fullmatch(key_id):
            raise ConfigurationError(f"setting {setting}: write each key as id:secret (an id "
                                     "of 1 to 16 letters or digits)")
        if key_id in found:
            raise ConfigurationError(f"setting {setting}: key id {key_id!r} appears twice")
        found[key_id] = check_secret(secret, f"{setting} (key {key_id})",
                                     production=production).encode()
    if not found:
        raise ConfigurationError(f"setting {setting} is required (it is blank)")
    current = (current or "").strip()
    if not current and len(found) == 1:
        current = next(iter(found))
    return PinKeys(current, found)


@dataclass(frozen=True)
class Verdict:
    """Whether the PIN matched, and whether its hash should be re-made under
    the current key (a bcrypt hash, or another key id)."""

    matches: bool
    stale: bool = False


def hash_pin(pin: str, keys: PinKeys) -> str:
    """The stored form of ``pin`` (already checked to be digits) under the current key."""
    salt = secrets.token_bytes(SALT_BYTES)
    return "$".join((SCHEME, "v" + keys.current, _b64(salt),
                     _b64(_mac(keys.secrets[keys.current], salt, pin))))


def verify_pin(pin: str, stored: str, keys: PinKeys | None) -> Verdict:
    """Compare ``pin`` with a stored hash, in constant time. A hash under a key
    id that is no longer configured raises UnknownPinKey (the PIN cannot be
    checked: it must be reset)."""
    if stored.startswith("$2"):  # bcrypt, from before keyed hashes
        return Verdict(bcrypt.checkpw(pin.encode(), stored.encode()), stale=True)
    parsed = _HASH.fullmatch(stored)
    if parsed is None:
        raise UnknownPinKey("a PIN hash in no known format")
    key_id, salt, mac = parsed.groups()
    if keys is None or key_id not in keys.secrets:
        raise UnknownPinKey(f"PIN key id {key_id!r} is not configured")
    try:
        expected = _mac(keys.secrets[key_id], _unb64(salt), pin)
        matches = hmac.compare_digest(expected, _unb64(mac))
    except (binascii.Error, ValueError):
        raise UnknownPinKey("a PIN hash that does not decode") from None
    return Verdict(matches, stale=key_id != keys.current)


class UnknownPinKey(Exception):
    """A stored PIN hash this process cannot check (its key was removed)."""


def _mac(secret: bytes, salt: bytes, pin: str) -> bytes:
    # The salt has a fixed length, so salt || PIN is unambiguous.
    return hmac.new(secret, salt + pin.encode("ascii"), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
