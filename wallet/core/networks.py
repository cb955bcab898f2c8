"""Allow-lists of networks, as settings give them (``banks.X.allowed_networks``,
``admin.allowed_networks``, ``metrics.allowed_networks``): one parser and one
membership test for every one of them; and the addresses we never connect to
on a stranger's word (:func:`forbidden_address`: shops' webhook endpoints)."""
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
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # (a dual-stack socket's view of an IPv4 caller)
    return any(ip in network for network in networks)


def _networks(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


#: IANA IPv4 Special-Purpose Address Registry
#: (https://www.iana.org/assignments/iana-ipv4-special-registry, 2024), every
#: entry, globally reachable or not (none is a shop's server), plus multicast
#: (the IPv4 Multicast Address Space registry).
SPECIAL_PURPOSE_IPV4 = _networks(
    "0.0.0.0/8",  # "this network" (0.0.0.0/32: this host)
    "10.0.0.0/8",  # private use (RFC 1918)
    "100.64.0.0/10",  # shared address space, carrier-grade NAT (RFC 6598)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (cloud metadata at 169.254.169.254)
    "172.16.0.0/12",  # private use
    "192.0.0.0/24",  # IETF protocol assignments (DS-Lite, NAT64 discovery, PCP, TURN...)
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "192.31.196.0/24",  # AS112-v4
    "192.52.193.0/24",  # AMT
    "192.88.99.0/24",  # deprecated 6to4 relay anycast (RFC 7526)
    "192.168.0.0/16",  # private use
    "192.175.48.0/24",  # direct delegation AS112 service
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved (and 255.255.255.255/32, limited broadcast)
)
#: Where IPv6 unicast is handed out at all (IANA IPv6 Address Space registry):
#: everything outside 2000::/3 is reserved by the IETF (site-local fec0::/10,
#: deprecated by RFC 3879, and the IPv4-compatible ::/96 among it).
GLOBAL_UNICAST_IPV6 = ipaddress.ip_network("2000::/3")
#: IANA IPv6 Special-Purpose Address Registry
#: (https://www.iana.org/assignments/iana-ipv6-special-registry, 2024), plus
#: the deprecated and multicast ranges. ::ffff:0:0/96 (IPv4-mapped),
#: 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) are judged by the IPv4 address
#: inside them (:func:`embedded_ipv4`), so they are not listed here.
SPECIAL_PURPOSE_IPV6 = _networks(
    "::/128",  # unspecified
    "::1/128",  # loopback
    "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation (RFC 8215)
    "100::/64",  # discard-only (RFC 6666)
    "100:0:0:1::/64",  # dummy prefix (RFC 9780)
    "2001::/23",  # IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID...)
    "2001:db8::/32",  # documentation
    "2620:4f:8000::/48",  # direct delegation AS112 service
    "3fff::/20",  # documentation (RFC 9637)
    "5f00::/16",  # segment routing SIDs (RFC 9602)
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local, deprecated (RFC 3879)
    "ff00::/8",  # multicast
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: IPv4-mapped (::ffff:a.b.c.d), the
    NAT64 well-known prefix (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


def forbidden_address(address: IPAddress) -> bool:
    """True for any address we must not connect to for a stranger: anything in
    IANA's special-purpose registries (private, loopback, link-local and cloud
    metadata, shared, documentation, benchmarking, multicast, reserved,
    translation prefixes...), IPv6 outside global unicast; an IPv6 address
    that carries an IPv4 one is judged by it. Python's own ``is_global`` is a
    second opinion, never the only one (Python 3.11 calls fec0::/10,
    192.88.99.0/24 and 3fff::/20 global)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return forbidden_address(inner)
        if address not in GLOBAL_UNICAST_IPV6:
            return True
        table: tuple[Network, ...] = SPECIAL_PURPOSE_IPV6
    else:
        table = SPECIAL_PURPOSE_IPV4
    if any(address in network for network in table):
        return True
    return not address.is_global or address.is_multicast or address.is_reserved
