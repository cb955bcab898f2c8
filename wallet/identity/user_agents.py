"""What a person reads of a User-Agent in their devices list: the browser (or
our phone app) and the system, in a few words. A small table of the common
ones (no dependency: the list is for people, never for a decision), most
specific first -- Edge and Opera say "Chrome" too, Chrome says "Safari".
Anything else reads as "Unknown browser" / "unknown system"."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

__all__ = ["Agent", "mask_ip", "read_user_agent"]

#: (pattern, name): the first that matches names the browser or app.
_BROWSERS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), name) for pattern, name in (
        (r"WalletApp/([0-9.]+)", "Wallet app"),
        (r"EdgA?/([0-9]+)", "Edge"),
        (r"OPR/([0-9]+)", "Opera"),
        (r"SamsungBrowser/([0-9]+)", "Samsung Internet"),
        (r"Firefox/([0-9]+)", "Firefox"),
        (r"FxiOS/([0-9]+)", "Firefox"),
        (r"CriOS/([0-9]+)", "Chrome"),
        (r"HeadlessChrome/([0-9]+)", "Chrome"),
        (r"Chrom(?:e|ium)/([0-9]+)", "Chrome"),
        (r"Version/([0-9]+)[0-9.]* (?:Mobile/\S+ )?Safari/", "Safari"),
        (r"okhttp/([0-9.]+)", "Android app"),
        (r"python-requests/([0-9.]+)", "Script"),
        (r"curl/([0-9.]+)", "curl"),
    ))
_SYSTEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), name) for pattern, name in (
        (r"Android(?: ([0-9]+))?", "Android"),
        (r"(?:iPhone|iPad|iPod).*? OS ([0-9]+)", "iOS"),
        (r"iOS ([0-9]+)", "iOS"),
        (r"Windows NT 10", "Windows"),
        (r"Windows", "Windows"),
        (r"CrOS", "ChromeOS"),
        (r"Mac OS X ([0-9]+)", "macOS"),
        (r"Macintosh", "macOS"),
        (r"Linux", "Linux"),
    ))


@dataclass(frozen=True)
class Agent:
    browser: str  # "Chrome 120", "Wallet app 2.3", "Unknown browser"
    system: str  # "Android 14", "Windows", "unknown system"

    def __str__(self) -> str:
        return f"{self.browser} on {self.system}"


def _first(table: tuple[tuple[re.Pattern[str], str], ...], text: str) -> str | None:
    for pattern, name in table:
        found = pattern.search(text)
        if found:
            version = found.group(1) if found.groups() else None
            return f"{name} {version}" if version else name
    return None


def read_user_agent(text: str | None) -> Agent:
    """The browser and system a User-Agent names, as far as the table knows."""
    text = text or ""
    return Agent(_first(_BROWSERS, text) or "Unknown browser",
                 _first(_SYSTEMS, text) or "unknown system")


def mask_ip(text: str | None) -> str:
    """An address as the devices list shows it: enough to recognise a network,
    not a household (IPv4: the last part hidden, 203.0.113.•; IPv6: the first
    three groups). "" for none or an unreadable one."""
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(str(address).split(".")[:3]) + ".•"
    groups = address.exploded.split(":")[:3]
    return ":".join(group.lstrip("0") or "0" for group in groups) + ":•"
