"""The console's own settings (``admin.*``), read once at start-up."""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wallet.settings import ConfigurationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_NETWORKS = "127.0.0.0/8 ::1/128"
DEFAULT_IDLE_TIMEOUT_S = 15 * 60  # a console left open is signed out soon


@dataclass(frozen=True)
class AdminSettings:
    allowed_networks: tuple[Network, ...]
    idle_timeout_s: int
    cookie_name: str

    def allows(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.allowed_networks)

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> AdminSettings:
        text = str(settings.get("admin.allowed_networks") or DEFAULT_NETWORKS)
        try:
            networks = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in text.split())
            idle = int(settings.get("admin.session_idle_timeout_s") or DEFAULT_IDLE_TIMEOUT_S)
        except ValueError as exc:
            raise ConfigurationError(f"admin settings: {exc}") from None
        if not networks:
            raise ConfigurationError("admin.allowed_networks lists no network")
        if not 60 < idle <= 3600:
            raise ConfigurationError("admin.session_idle_timeout_s is between 61 and 3600")
        return cls(networks, idle,
                   str(settings.get("admin.session_cookie_name") or "wallet_admin"))
