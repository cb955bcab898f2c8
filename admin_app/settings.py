"""The console's own settings (``admin.*``), read once at start-up."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wallet.core.networks import Network, address_allowed, parse_networks
from wallet.settings import ConfigurationError
from webcommon.security import lifetime_setting

DEFAULT_NETWORKS = "127.0.0.0/8 ::1/128"
DEFAULT_IDLE_TIMEOUT_S = 15 * 60  # a console left open is signed out soon
#: However busy, a console session ends after a working day's shift.
DEFAULT_LIFETIME_S = 8 * 3600


@dataclass(frozen=True)
class AdminSettings:
    allowed_networks: tuple[Network, ...]
    idle_timeout_s: int
    cookie_name: str
    lifetime_s: int = DEFAULT_LIFETIME_S

    def allows(self, address: str | None) -> bool:
        return address_allowed(self.allowed_networks, address)

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> AdminSettings:
        text = str(settings.get("admin.allowed_networks") or DEFAULT_NETWORKS)
        networks = parse_networks(text, "admin.allowed_networks")
        try:
            idle = int(settings.get("admin.session_idle_timeout_s") or DEFAULT_IDLE_TIMEOUT_S)
        except ValueError as exc:
            raise ConfigurationError(f"admin settings: {exc}") from None
        if not networks:
            raise ConfigurationError("admin.allowed_networks lists no network")
        if not 60 < idle <= 3600:
            raise ConfigurationError("admin.session_idle_timeout_s is between 61 and 3600")
        lifetime = lifetime_setting(settings, "admin.session_lifetime_s", DEFAULT_LIFETIME_S,
                                    idle)
        return cls(networks, idle,
                   str(settings.get("admin.session_cookie_name") or "wallet_admin"), lifetime)
