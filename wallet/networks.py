"""Allow-lists of networks, as settings give them (``banks.X.allowed_networks``,
``admin.allowed_networks``, ``metrics.allowed_networks``): one parser and one
membership test for every one of them."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .ini import ConfigurationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str, setting: str) -> tuple[Network, ...]:
    """CIDRs separated by spaces; a bad one is a :class:`ConfigurationError`
    naming ``setting``."""
    try:
        return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in text.split())
    except ValueError as exc:
        raise ConfigurationError(f"{setting}: {exc}") from None


def address_allowed(networks: Iterable[Network], address: str | None) -> bool:
    """Whether ``address`` (a request's remote address; None or garbage: no)
    is inside one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)
