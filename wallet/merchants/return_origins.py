"""A shop's return origins: where a payment request's ``return_url`` may send
the customer back after checkout (wallet.merchants.payment_requests checks each
request's URL against them). Each is an origin, ``scheme://host[:port]`` and
nothing more; https only in production, http too elsewhere (a shop's test
server on localhost)."""
from __future__ import annotations

import re

from ..core.errors import WalletError
from ..core.models import Merchant

#: Column size (merchants.return_origins) and a sane number of shops' sites.
MAX_TOTAL_CHARS = 1000
MAX_ORIGINS = 10
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN = re.compile(
    rf"(?P<scheme>https?)://(?P<host>{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]{{2,45}}\])"
    r"(?::(?P<port>[0-9]{1,5}))?/?", re.ASCII)
_DEFAULT_PORTS = {"https": 443, "http": 80}


def parse_origin(text: str, *, https_only: bool) -> str:
    """The origin as stored and compared (lower case, no default port, no
    trailing slash); WalletError if ``text`` is not one."""
    match = _ORIGIN.fullmatch(text.lower())
    if match is None:
        raise WalletError(f"{text!r} is not an origin: write it like https://shop.example "
                          "or https://shop.example:8443 (no path, query or user name).",
                          "return_origins")
    scheme, host, port = match.group("scheme"), match.group("host"), match.group("port")
    if https_only and scheme != "https":
        raise WalletError(f"{text!r}: use https:// (customers' browsers go there after "
                          "paying).", "return_origins")
    if port is not None and not 1 <= int(port) <= 65535:
        raise WalletError(f"{text!r}: the port must be from 1 to 65535.", "return_origins")
    if port is None or int(port) == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{int(port)}"


def parse_origins(text: str, *, https_only: bool) -> list[str]:
    """Space- (or line-) separated origins, checked, in order, without repeats."""
    origins: list[str] = []
    for word in (text or "").split():
        origin = parse_origin(word, https_only=https_only)
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise WalletError(f"Up to {MAX_ORIGINS} origins.", "return_origins")
    if len(" ".join(origins)) > MAX_TOTAL_CHARS:
        raise WalletError(f"Up to {MAX_TOTAL_CHARS} characters in all.", "return_origins")
    return origins


def set_return_origins(merchant: Merchant, text: str, *, https_only: bool) -> list[str]:
    """Replace the shop's return origins (all checked first: a refused list
    changes nothing)."""
    origins = parse_origins(text, https_only=https_only)
    merchant.return_origins = " ".join(origins)
    return origins
