"""Who may read /metrics: an allow-list of networks (``metrics.allowed_networks``),
internal ones by default. Metrics name routes, banks and volumes: they are for
our Prometheus, not for the internet."""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wallet.settings import ConfigurationError

DEFAULT_NETWORKS = "127.0.0.0/8 ::1/128 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class MetricsAccess:
    networks: tuple[Network, ...]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> MetricsAccess:
        text = str(settings.get("metrics.allowed_networks") or DEFAULT_NETWORKS)
        try:
            return cls(tuple(ipaddress.ip_network(cidr, strict=False) for cidr in text.split()))
        except ValueError as exc:
            raise ConfigurationError(f"metrics.allowed_networks: {exc}") from None

    def allows(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.networks)
