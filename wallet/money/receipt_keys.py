"""The keys that sign payment receipts (wallet.money.receipts): Ed25519, in a
ring read from the settings, rotated by adding a key, switching the active one
and retiring the old one; their public halves published as a JWKS-like
document (``GET /.well-known/wallet-receipt-keys.json``) that anyone may use to
check a receipt offline. docs/receipts.md has the format and the rotation.

Settings (``[DEFAULT]``: every app reads them, the merchant app to verify):

- ``wallet.receipt_signing_keys``: ``id:private`` pairs separated by spaces; a
  private key is the base64 (or base64url) of the raw 32-byte Ed25519 seed or of
  its PKCS#8 DER (``openssl genpkey -algorithm ed25519 -outform DER | base64``).
  From the environment in production (``env:WALLET_RECEIPT_SIGNING_KEYS``);
- ``wallet.receipt_key_id``: the key that signs; the other signing keys are
  published as ``next`` (so verifiers know them before they sign);
- ``wallet.receipt_retired_keys``: ``id:x:retired_at`` triples (``x``: the
  public key as the JWKS gives it; ``retired_at``: ISO 8601 UTC): no private
  key is kept for them. A receipt signed by one verifies only if it was issued
  before ``retired_at`` and the grace period has not passed;
- ``wallet.receipt_key_grace_days``: that grace period (default 90 days).

Production refuses a missing ring, key ids starting ``dev`` (development.ini's
keys are ``dev-…``) and seeds with few distinct bytes.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ..core.ini import ConfigurationError, is_production

__all__ = ["KeyStatus", "PublicReceiptKey", "ReceiptKeyRing", "b64url", "keys_from_jwks",
           "unb64url"]

KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}", re.ASCII)
KEYS_SETTING, KEY_ID_SETTING = "wallet.receipt_signing_keys", "wallet.receipt_key_id"
RETIRED_SETTING, GRACE_SETTING = "wallet.receipt_retired_keys", "wallet.receipt_key_grace_days"
DEFAULT_GRACE_DAYS = 90
#: A real seed is random: 32 bytes with fewer distinct values than this are not.
MIN_DISTINCT_SEED_BYTES = 16
SEED_BYTES, PKCS8_BYTES = 32, 48


class KeyStatus(StrEnum):
    ACTIVE = "active"  # signs new receipts
    NEXT = "next"  # published ahead of the switch; may sign during a rolling deploy
    RETIRED = "retired"  # signs no more; its receipts verify until not_after


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Strict: only the base64url alphabet, no padding, and the canonical
    encoding (the unused bits of the last character zero), else ValueError."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text, re.ASCII) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


def utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> dt.datetime:
    """``2026-01-01T00:00:00Z`` (or with an offset): an aware datetime; ValueError otherwise."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class PublicReceiptKey:
    """A key as verifiers see it."""

    key_id: str
    public_bytes: bytes  # the raw 32-byte Ed25519 public key (the JWK's x)
    status: KeyStatus
    retired_at: dt.datetime | None = None
    #: Retired keys: nothing signed by it verifies from then on (retired_at + grace).
    not_after: dt.datetime | None = None

    @property
    def public_key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public_bytes)

    def jwk(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "kid": self.key_id, "kty": "OKP", "crv": "Ed25519", "x": b64url(self.public_bytes),
            "use": "sig", "alg": "EdDSA", "status": str(self.status),
            "not_after": utc_text(self.not_after) if self.not_after else None}
        if self.retired_at is not None:
            shown["retired_at"] = utc_text(self.retired_at)
        return shown


def _private_key(text: str, key_id: str) -> Ed25519PrivateKey:
    where = f"{KEYS_SETTING} ({key_id})"
    try:
        data = base64.b64decode(text.replace("-", "+").replace("_", "/")
                                + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{where}: not base64") from None
    if len(data) == SEED_BYTES:
        return Ed25519PrivateKey.from_private_bytes(data)
    if len(data) == PKCS8_BYTES:
        try:
            key = serialization.load_der_private_key(data, password=None)
        except ValueError:
            key = None
        if isinstance(key, Ed25519PrivateKey):
            return key
    raise ConfigurationError(f"{where}: not an Ed25519 private key (32-byte seed or "
                             "PKCS#8 DER, base64)")


def _seed(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


def _key_id(key_id: str, seen: Mapping[str, object], setting: str) -> str:
    if not KEY_ID.fullmatch(key_id) or key_id in seen:
        raise ConfigurationError(f"{setting}: {key_id!r} is not a valid key id (letters, "
                                 "digits, ._-; each key once)")
    return key_id


@dataclass(frozen=True)
class ReceiptKeyRing:
    """The private keys that sign (the active one and any next), and the
    public halves of retired ones."""

    signing: Mapping[str, Ed25519PrivateKey]
    active_id: str
    retired: tuple[PublicReceiptKey, ...] = ()
    grace: dt.timedelta = dt.timedelta(days=DEFAULT_GRACE_DAYS)

    def __repr__(self) -> str:  # (never a private key in a log line or a traceback)
        return (f"ReceiptKeyRing(active_id={self.active_id!r}, signing={sorted(self.signing)}, "
                f"retired={[k.key_id for k in self.retired]})")

    @property
    def active_key(self) -> Ed25519PrivateKey:
        return self.signing[self.active_id]

    def public_keys(self) -> tuple[PublicReceiptKey, ...]:
        live = tuple(PublicReceiptKey(key_id, _raw_public(key),
                                      KeyStatus.ACTIVE if key_id == self.active_id
                                      else KeyStatus.NEXT)
                     for key_id, key in self.signing.items())
        return live + self.retired

    def jwks(self) -> dict[str, Any]:
        """The published document (docs/receipts.md)."""
        return {"keys": [key.jwk() for key in self.public_keys()],
                "receipt_format": "WR1", "grace_days": self.grace.days}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ReceiptKeyRing | None:
        """The ring the settings give; None when they give none (outside
        production only: receipts are then not issued). ConfigurationError if
        malformed, or weak or a development key in production."""
        production = is_production(settings)
        keys_text, active_id, retired_text = (str(settings.get(key) or "").strip() for key in
                                              (KEYS_SETTING, KEY_ID_SETTING, RETIRED_SETTING))
        if not keys_text and not production:
            return None
        signing: dict[str, Ed25519PrivateKey] = {}
        for pair in keys_text.split():
            key_id, _, secret = pair.partition(":")
            key = _private_key(secret, _key_id(key_id, signing, KEYS_SETTING))
            if production and (key_id.lower().startswith("dev")
                               or len(set(_seed(key))) < MIN_DISTINCT_SEED_BYTES):
                raise ConfigurationError(f"{KEYS_SETTING} ({key_id}): a development or weak "
                                         "key; set real keys in production")
            signing[key_id] = key
        if not signing:
            raise ConfigurationError(f"setting {KEYS_SETTING} is required (id:private-key "
                                     "pairs, docs/receipts.md)")
        if active_id not in signing:
            raise ConfigurationError(f"setting {KEY_ID_SETTING} must name one of the keys of "
                                     f"{KEYS_SETTING}")
        try:
            grace_days = int(str(settings.get(GRACE_SETTING) or DEFAULT_GRACE_DAYS).strip())
        except ValueError:
            grace_days = -1
        if grace_days < 0:
            raise ConfigurationError(f"setting {GRACE_SETTING} must be a whole number of days")
        grace = dt.timedelta(days=grace_days)
        return cls(signing, active_id, _retired(retired_text, signing, grace), grace)


def _retired(text: str, signing: Mapping[str, object],
             grace: dt.timedelta) -> tuple[PublicReceiptKey, ...]:
    found: dict[str, PublicReceiptKey] = {}
    for triple in text.split():
        key_id, x, when = (triple.split(":", 2) + ["", ""])[:3]
        _key_id(key_id, {**signing, **found}, RETIRED_SETTING)
        try:
            public = unb64url(x)
            Ed25519PublicKey.from_public_bytes(public)
            retired_at = parse_utc(when)
        except ValueError:
            raise ConfigurationError(f"{RETIRED_SETTING} ({key_id}): write id:x:retired_at, x "
                                     "the public key (base64url), retired_at in ISO 8601 "
                                     "UTC") from None
        found[key_id] = PublicReceiptKey(key_id, public, KeyStatus.RETIRED, retired_at,
                                         retired_at + grace)
    return tuple(found.values())


def keys_from_jwks(document: Mapping[str, Any]) -> tuple[PublicReceiptKey, ...]:
    """The keys of a published document (what an offline verifier holds).
    Entries that are not Ed25519 signing keys, or are malformed, are skipped."""
    found: list[PublicReceiptKey] = []
    for entry in document.get("keys") or ():
        try:
            if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
                continue
            public = unb64url(str(entry["x"]))
            Ed25519PublicKey.from_public_bytes(public)
            status = KeyStatus(entry.get("status", KeyStatus.ACTIVE))
            retired_at = (parse_utc(entry["retired_at"]) if entry.get("retired_at") else None)
            not_after = parse_utc(entry["not_after"]) if entry.get("not_after") else None
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if status == KeyStatus.RETIRED and (retired_at is None or not_after is None):
            continue  # (a retired key without its dates verifies nothing)
        found.append(PublicReceiptKey(str(entry["kid"]), public, status, retired_at, not_after))
    return tuple(found)
