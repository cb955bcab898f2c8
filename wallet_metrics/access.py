"""Who may read /metrics: an allow-list of networks (``metrics.allowed_networks``),
internal ones by default. Metrics name routes, banks and volumes: they are for
our Prometheus, not for the internet."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wallet.core.networks import Network, address_allowed, parse_networks

DEFAULT_NETWORKS = "127.0.0.0/8 ::1/128 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7"


@dataclass(frozen=True)
class MetricsAccess:
    networks: tuple[Network, ...]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> MetricsAccess:
        text = str(settings.get("metrics.allowed_networks") or DEFAULT_NETWORKS)
        return cls(parse_networks(text, "metrics.allowed_networks"))

    def allows(self, address: str | None) -> bool:
        return address_allowed(self.networks, address)
