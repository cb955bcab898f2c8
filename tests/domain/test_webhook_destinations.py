"""Issue 23 item 7: a shop's webhook endpoint in any of IANA's special-purpose
ranges (``http://[fec0::1]/h`` was accepted and delivered to) is refused when
the shop registers it, and again when we connect: on every address the host
resolves to, the connection going to the address that was checked."""
from __future__ import annotations

import ipaddress
import socket

import pytest

from wallet.core.networks import address_allowed, forbidden_address, parse_networks
from wallet.merchants.errors import WebhookError
from wallet.merchants.webhook_sender import UnsafeDestination, WebhookSender, check_url
from wallet.merchants.webhooks import MerchantWebhooks, WebhookPolicy

from ..apps.test_merchant_webhooks import make_shop

#: One address or more of every range refused (its first, a middle, its last).
FORBIDDEN = [
    # IPv4 (IANA IPv4 special-purpose registry, multicast, reserved)
    "0.0.0.0", "0.1.2.3", "0.255.255.255", "10.0.0.1", "10.255.255.255",
    "100.64.0.0", "100.127.255.255", "127.0.0.1", "127.255.255.254", "169.254.0.1",
    "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.1", "192.0.0.9",
    "192.0.0.170", "192.0.0.255", "192.0.2.1", "192.31.196.1", "192.52.193.1",
    "192.88.99.1", "192.88.99.255", "192.168.0.1", "192.168.255.255", "192.175.48.1",
    "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1",
    "239.255.255.255", "240.0.0.1", "255.255.255.254", "255.255.255.255",
    # IPv6 (IANA IPv6 special-purpose registry, deprecated and multicast ranges)
    "::", "::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
    "::ffff:0.0.0.0", "::127.0.0.1", "::8.8.8.8",  # IPv4-compatible (deprecated)
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe",  # NAT64 of private ones
    "64:ff9b:1::1", "64:ff9b:1:ffff::1", "100::1", "100::ffff:ffff:ffff:ffff",
    "100:0:0:1::1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:1::1", "2001:2::1", "2001:3::1", "2001:4:112::1", "2001:10::1", "2001:20::1",
    "2001:1ff:ffff::1", "2001:db8::1", "2001:db8:ffff::1",
    "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:c0a8:1::1",  # 6to4 of private ones
    "2620:4f:8000::1", "3fff::1", "3fff:fff:ffff::1", "5f00::1", "fc00::1",
    "fdff:ffff::1", "fe80::1", "febf::1", "fec0::1", "fec0::ffff", "feff::1",
    "ff00::1", "ff02::1", "ff0e::101", "8000::1", "4000::1", "e000::1",
]
#: Public addresses, some right next to a refused range.
ALLOWED = [
    "1.1.1.1", "8.8.8.8", "93.184.216.34", "100.63.255.255", "100.128.0.0",
    "172.15.255.255", "172.32.0.0", "192.0.1.1", "192.0.3.1", "192.88.98.255",
    "192.88.100.0", "192.169.0.1", "198.17.255.255", "198.20.0.0", "223.255.255.254",
    "2606:2800:220:1::1", "2001:4860:4860::8888", "2001:200::1", "2a00:1450:4001::1",
    "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",  # they reach 8.8.8.8
]


def url_of(address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}/hooks"


@pytest.mark.parametrize("address", FORBIDDEN)
def test_a_special_purpose_address_is_forbidden(address):
    assert forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_a_public_address_is_allowed(address):
    assert not forbidden_address(ipaddress.ip_address(address))


# -------------------------------------------------------------- registration


@pytest.mark.parametrize("address", FORBIDDEN)
def test_registering_a_special_purpose_address_is_refused(address):
    with pytest.raises(UnsafeDestination, match="not a public one"):
        check_url(url_of(address), require_https=True, allow_private=False)


@pytest.mark.parametrize("address", ALLOWED)
def test_registering_a_public_address_is_accepted(address):
    assert check_url(url_of(address), require_https=True, allow_private=False) == url_of(
        address)


@pytest.mark.parametrize("url", ["http://[fec0::1]/h", "https://192.88.99.1/h",
                                 "https://[3fff::1]/h", "https://[::ffff:a9fe:a9fe]/h"])
def test_the_shop_is_told_and_nothing_is_written(db, url):
    shop = make_shop(db)
    policy = WebhookPolicy(allow_private_urls=False, require_https=False)
    with db() as session, session.begin():
        with pytest.raises(WebhookError, match="not a public one"):
            MerchantWebhooks(session, policy).create(shop, url, ["refund.succeeded"])
        assert MerchantWebhooks(session, policy).endpoints(shop) == []


# -------------------------------------------------------------- connect time


class Connections:
    """socket.create_connection, recorded and never made (no test reaches the internet)."""

    def __init__(self):
        self.made: list[tuple[str, int]] = []

    def __call__(self, address, timeout=None, *args, **kwargs):
        self.made.append(address)
        raise ConnectionRefusedError("not in tests")


@pytest.fixture
def connections(monkeypatch):
    recorded = Connections()
    monkeypatch.setattr(socket, "create_connection", recorded)
    return recorded


def sender(answers: dict[str, list[list[str]]], lookups: list[str]) -> WebhookSender:
    """A sender whose DNS gives each host its answers in turn (a rebinding
    server: the first answer for one lookup, the next for a second)."""

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return answers[host].pop(0)

    return WebhookSender(timeout_s=1, max_response_bytes=1024, allow_private=False,
                         resolve=resolve)


@pytest.mark.parametrize("address", FORBIDDEN)
def test_a_host_resolving_to_a_special_purpose_address_is_refused_at_send_time(
        address, connections):
    lookups: list[str] = []
    result = sender({"hooks.shop.test": [[address]]}, lookups).post(
        "https://hooks.shop.test/h", {}, b"{}")
    assert result.status_code is None and result.error.startswith("refused:"), result
    assert lookups == ["hooks.shop.test"] and connections.made == []


@pytest.mark.parametrize("address", ["fec0::1", "192.88.99.1", "10.0.0.1", "::1"])
def test_one_special_purpose_address_among_public_ones_is_enough(address, connections):
    lookups: list[str] = []
    result = sender({"hooks.shop.test": [["93.184.216.34", address, "8.8.8.8"]]},
                    lookups).post("https://hooks.shop.test/h", {}, b"{}")
    assert result.error.startswith("refused:") and connections.made == []


@pytest.mark.parametrize("literal", ["fec0::1", "192.88.99.1", "3fff::1"])
def test_an_address_in_the_url_is_checked_again_at_send_time(literal, connections):
    # (an endpoint registered before the table grew is not delivered to)
    result = sender({}, []).post(url_of(literal), {}, b"{}")
    assert result.error.startswith("refused:") and connections.made == []


def test_the_connection_goes_to_the_address_that_was_checked(connections):
    """One lookup, checked, and the connection to its answer: a second lookup
    (by http.client, say) could rebind the name to 127.0.0.1 after the check."""
    lookups: list[str] = []
    result = sender({"hooks.shop.test": [["93.184.216.34"], ["127.0.0.1"]]},
                    lookups).post("https://hooks.shop.test:8443/h", {}, b"{}")
    assert lookups == ["hooks.shop.test"]
    assert connections.made == [("93.184.216.34", 8443)]
    assert result.status_code is None and "cannot connect to 93.184.216.34" in result.error


# ------------------------------------------------ allow-lists, the same mistake


def test_an_allow_list_judges_an_ipv4_mapped_caller_by_its_ipv4_address():
    networks = parse_networks("203.0.113.0/24 ::1/128", "banks.x.allowed_networks")
    assert address_allowed(networks, "::ffff:203.0.113.7")
    assert not address_allowed(networks, "::ffff:198.51.100.7")
