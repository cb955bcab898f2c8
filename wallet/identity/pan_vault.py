"""PANs at rest: encrypted, fingerprinted for uniqueness, shown masked.

A PAN is never stored or shown in clear. :class:`PanVault` seals it with
AES-256-GCM (``cryptography``'s AEAD) under the current key of a versioned
key ring, the key id stored beside the ciphertext so older keys keep opening
older rows while a rotation re-seals them (:func:`reseal_all`); the row's user
id is the associated data, so a ciphertext copied to another row does not
open. Beside it sits a keyed fingerprint (HMAC-SHA-256 under a key of its
own), on which a unique index keeps one PAN to one full-KYC wallet without
anyone being able to test a guessed PAN against a stolen table; and the last
four characters, for :func:`mask_pan`.

Settings (``[DEFAULT]``, shared by every app, worker and alembic):

- ``wallet.pan_keys``: ``id:secret`` pairs separated by spaces (ids of letters,
  digits, ``._-``); each secret is a long random string, from which HKDF
  derives the 256-bit key;
- ``wallet.pan_key_id``: the id of the key new PANs are sealed with;
- ``wallet.pan_hmac_key``: the fingerprint's secret (changing it means
  re-fingerprinting every row: docs/deploy.md).

Production refuses missing, short, development or repeated secrets.

The SQL migration that encrypted the PANs stored before (a1b7c0de2307) has a
frozen copy of this format; change the format only with a new migration.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..core.ini import ConfigurationError, check_secret, is_production

__all__ = ["PanKeys", "PanVault", "SealedPan", "mask_pan"]

KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}", re.ASCII)
NONCE_BYTES = 12
#: HKDF's ``info``: a key derived for this purpose serves no other.
AEAD_KEY_INFO = b"wallet kyc_records.pan aes-256-gcm"
KEYS_SETTING, KEY_ID_SETTING, HMAC_SETTING = (
    "wallet.pan_keys", "wallet.pan_key_id", "wallet.pan_hmac_key")


def mask_pan(last4: str) -> str:
    """How a PAN is shown anywhere (pages, console, logs): ``XXXXXX234F``."""
    return "XXXXXX" + last4


def derive_aead_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=AEAD_KEY_INFO).derive(secret.encode())


def associated_data(user_id: int) -> bytes:
    return f"kyc_records.pan:{user_id}".encode()


@dataclass(frozen=True)
class PanKeys:
    """The key ring: id -> secret, the current id, the fingerprint's secret."""

    secrets: Mapping[str, str]
    current_id: str
    hmac_secret: str

    def __repr__(self) -> str:  # (never a secret in a log line or a traceback)
        return f"PanKeys(ids={sorted(self.secrets)}, current_id={self.current_id!r})"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> PanKeys | None:
        """The ring the settings give; None if they give none (allowed outside
        production, where KYC then cannot be used). ConfigurationError if
        malformed, or weak in production."""
        production = is_production(settings)
        texts = [str(settings.get(key) or "").strip()
                 for key in (KEYS_SETTING, KEY_ID_SETTING, HMAC_SETTING)]
        if not any(texts) and not production:
            return None
        keys_text, current_id, hmac_secret = texts
        secrets: dict[str, str] = {}
        for pair in keys_text.split():
            key_id, _, secret = pair.partition(":")
            if not KEY_ID.fullmatch(key_id) or key_id in secrets:
                raise ConfigurationError(f"{KEYS_SETTING}: {key_id!r} is not a valid key id "
                                         "(letters, digits, ._-; each once)")
            secrets[key_id] = check_secret(secret, f"{KEYS_SETTING} ({key_id})",
                                           production=production)
        if not secrets:
            raise ConfigurationError(f"setting {KEYS_SETTING} is required (id:secret pairs)")
        if current_id not in secrets:
            raise ConfigurationError(f"setting {KEY_ID_SETTING} must name one of the keys "
                                     f"of {KEYS_SETTING}")
        check_secret(hmac_secret, HMAC_SETTING, production=production)
        if hmac_secret in secrets.values():
            raise ConfigurationError(f"{HMAC_SETTING} must be a secret of its own, not one "
                                     f"of {KEYS_SETTING}")
        return cls(secrets, current_id, hmac_secret)


@dataclass(frozen=True)
class SealedPan:
    """What a row keeps of a PAN."""

    key_id: str
    ciphertext: bytes  # nonce + AES-GCM ciphertext and tag
    fingerprint: str  # HMAC-SHA-256, hex
    last4: str

    def __repr__(self) -> str:
        return f"SealedPan(key_id={self.key_id!r}, pan={mask_pan(self.last4)!r})"


class PanVault:
    def __init__(self, keys: PanKeys, *, nonce: Callable[[int], bytes] = os.urandom):
        self.keys = keys
        self._aead = {key_id: AESGCM(derive_aead_key(secret))
                      for key_id, secret in keys.secrets.items()}
        self._hmac_key = keys.hmac_secret.encode()
        self._nonce = nonce

    def fingerprint(self, pan: str) -> str:
        return hmac.new(self._hmac_key, pan.encode(), hashlib.sha256).hexdigest()

    def seal(self, pan: str, *, user_id: int) -> SealedPan:
        key_id = self.keys.current_id
        nonce = self._nonce(NONCE_BYTES)
        ciphertext = self._aead[key_id].encrypt(nonce, pan.encode(), associated_data(user_id))
        return SealedPan(key_id, nonce + ciphertext, self.fingerprint(pan), pan[-4:])

    def open(self, key_id: str, ciphertext: bytes, *, user_id: int) -> str:
        """The PAN; ValueError if the key is gone or the ciphertext is not this row's."""
        aead = self._aead.get(key_id)
        if aead is None:
            raise ValueError(f"no PAN key {key_id!r} in {KEYS_SETTING}")
        try:
            plain = aead.decrypt(ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:],
                                 associated_data(user_id))
        except InvalidTag:
            raise ValueError("this ciphertext does not open with its key and row") from None
        return plain.decode()

    def reseal(self, key_id: str, ciphertext: bytes, *, user_id: int) -> SealedPan:
        """The PAN sealed under another key, sealed again under the current one."""
        return self.seal(self.open(key_id, ciphertext, user_id=user_id), user_id=user_id)
