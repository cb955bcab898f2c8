"""Where passkeys are valid: the WebAuthn relying party (its id, the
origin pages are served from, its name shown by the authenticator), read
from the settings. Kept apart from wallet.identity.passkeys so that
wallet.settings reads it without importing the models."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..core.ini import ConfigurationError

__all__ = ["PasskeyPolicy"]


@dataclass(frozen=True)
class PasskeyPolicy:
    #: The relying party's id: the site's domain (``wallet.webauthn_rp_id``).
    rp_id: str
    #: The origin the pages are served from (``wallet.webauthn_origin``), exactly.
    origin: str
    #: The name an authenticator shows (``wallet.webauthn_rp_name``).
    rp_name: str = "Wallet"
    #: A challenge is good for one use within this long.
    challenge_ttl_s: float = 300.0
    #: Passkeys one person may keep.
    max_per_user: int = 10

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], *,
                      production: bool) -> PasskeyPolicy | None:
        """The policy, or None when neither setting is given (the user app
        refuses to start without them in production: webapp.main)."""
        rp_id = str(settings.get("wallet.webauthn_rp_id") or "").strip().lower()
        origin = str(settings.get("wallet.webauthn_origin") or "").strip().rstrip("/")
        name = str(settings.get("wallet.webauthn_rp_name") or "").strip() or cls.rp_name
        if not rp_id and not origin:
            return None
        parts = urlsplit(origin)
        host = (parts.hostname or "").lower()
        if not rp_id or parts.scheme not in ("https", "http") or not host:
            raise ConfigurationError("wallet.webauthn_rp_id and wallet.webauthn_origin go "
                                     "together: a domain, and an origin like "
                                     "https://wallet.example")
        if parts.path or parts.query or parts.fragment:
            raise ConfigurationError("wallet.webauthn_origin is an origin only: scheme, "
                                     "host and port, no path")
        if host != rp_id and not host.endswith("." + rp_id):
            raise ConfigurationError(f"wallet.webauthn_rp_id {rp_id!r} must be the host of "
                                     f"wallet.webauthn_origin or a domain above it")
        if production and (parts.scheme != "https" or rp_id == "localhost"):
            raise ConfigurationError("wallet.webauthn_origin must be https (and not "
                                     "localhost) in production")
        return cls(rp_id=rp_id, origin=origin, rp_name=name)
