"""Calling a shop's server: one HTTP POST, bounded, to a destination we
checked.

A shop's webhook URL is outside our control, so the sender

- resolves the host itself and, unless private destinations are allowed
  (development), refuses it if *any* of its addresses is in one of IANA's
  special-purpose ranges or otherwise not global (wallet.core.networks.
  forbidden_address: private, loopback, link-local, multicast, reserved,
  site-local, translation prefixes judged by their IPv4 address...); then
  connects to an address it checked (a second DNS answer cannot swap in an
  internal one), while TLS still verifies the certificate of the host name;
- follows no redirect (a 3xx is a failed attempt) and uses no proxy;
- bounds the whole call by one deadline (connect, send, headers and body: the
  socket is shut at the deadline, so a server dripping bytes cannot hold a
  worker longer), and reads at most ``max_response_bytes`` of the answer.

It raises nothing for the shop's failures: every outcome is a
:class:`SendResult` (status code or error, latency) for the delivery log.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core.networks import IPAddress, forbidden_address

#: ``resolve(host, port)``: the host's addresses, as strings (socket.getaddrinfo).
Resolver = Callable[[str, int], list[str]]
MAX_ERROR_CHARS = 300
USER_AGENT = "wallet-webhooks/1"


class UnsafeDestination(ValueError):
    """A URL or an address we do not send to."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_url(url: str, *, require_https: bool, allow_private: bool,
              max_chars: int = 500) -> str:
    """``url`` if we may send webhooks to it, else :class:`UnsafeDestination`
    with a message for the shop. A host name is resolved only when sending
    (:meth:`WebhookSender.post`); an IP literal or ``localhost`` is judged here."""
    url = (url or "").strip()
    if not url or len(url) > max_chars:
        raise UnsafeDestination(f"Enter a URL of at most {max_chars} characters.")
    if any(c.isspace() or ord(c) < 32 or ord(c) >= 127 for c in url):
        # (non-ASCII too: HTTP cannot send it as it is; percent-encode it)
        raise UnsafeDestination("A URL has no spaces, control or non-ASCII characters "
                                "(percent-encode them).")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeDestination("That is not a valid URL.") from None
    schemes = ("https",) if require_https else ("https", "http")
    if parts.scheme not in schemes:
        raise UnsafeDestination("The URL must start with https://." if require_https
                                else "The URL must start with https:// or http://.")
    host = parts.hostname
    if not host:
        raise UnsafeDestination("The URL needs a host name.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("Put no user name or password in the URL.")
    if parts.fragment:
        raise UnsafeDestination("The URL cannot have a #fragment.")
    if port == 0:
        raise UnsafeDestination("That is not a valid port.")
    if not allow_private:
        literal = ip_literal(host)
        if literal is not None and forbidden_address(literal):
            raise UnsafeDestination("That address is not a public one (private, loopback, "
                                    "link-local or reserved): webhooks go to public "
                                    "servers only.")
        if host.rstrip(".").lower() == "localhost" or host.rstrip(".").lower().endswith(
                ".localhost"):
            raise UnsafeDestination("Webhooks go to public servers only, not localhost.")
    return url


def ip_literal(host: str) -> IPAddress | None:
    """The address a host written as an address stands for, in any of the
    forms a resolver takes: ``127.1``, ``2130706433`` and ``0x7f000001`` are
    127.0.0.1 too (inet_aton's forms)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class SendResult:
    """What one call came to: a status code (any answer), or an error
    (refused destination, no connection, timeout, broken answer)."""

    status_code: int | None
    latency_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to ``address``, with the URL's host in the Host header."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.raw_sock: socket.socket | None = None

    def connect(self) -> None:
        self.sock = self.raw_sock = socket.create_connection((self.address, self.port),
                                                             self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``address``; the certificate must be the URL's host's."""

    def __init__(self, host: str, port: int, address: str, timeout: float,
                 context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address
        self.tls = context
        self.raw_sock: socket.socket | None = None

    def connect(self) -> None:
        # Kept apart: the deadline shuts it, during the handshake too, and after
        # the response took the connection over (http.client drops .sock then).
        self.raw_sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(self.raw_sock, server_hostname=self.host)


def _shut(connection: _PinnedHTTPConnection | _PinnedHTTPSConnection,
          fired: threading.Event) -> None:
    """At the deadline: wake whatever read or write the call is blocked in."""
    fired.set()
    sock = connection.raw_sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class WebhookSender:
    def __init__(self, *, timeout_s: float, max_response_bytes: int, allow_private: bool,
                 resolve: Resolver = system_resolver,
                 ssl_context: ssl.SSLContext | None = None):
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self.allow_private = allow_private
        self.resolve = resolve
        self.ssl_context = ssl_context or ssl.create_default_context()

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult:
        started = time.monotonic()

        def result(status: int | None, error: str = "") -> SendResult:
            latency_ms = round((time.monotonic() - started) * 1000)
            return SendResult(status, latency_ms, error[:MAX_ERROR_CHARS])

        try:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port
            https = parts.scheme == "https"
            port = port or (443 if https else 80)
            addresses = self._addresses(host, port)
        except UnsafeDestination as refused:
            return result(None, f"refused: {refused}")
        except (OSError, ValueError) as error:
            return result(None, f"cannot resolve the host of {url[:100]}: {error}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        last_error = "no address"
        for address in addresses:
            remaining = self.timeout_s - (time.monotonic() - started)
            if remaining <= 0:
                return result(None, f"timed out after {self.timeout_s:g} s")
            status, problem = self._call(https, host, port, address, path, headers, body,
                                         remaining)
            if problem != "connect":
                return result(status, problem)
            last_error = f"cannot connect to {address}"
        return result(None, last_error)

    def _drain(self, response: http.client.HTTPResponse, fired: threading.Event) -> None:
        """Read at most ``max_response_bytes`` of the answer (what it says is
        not ours to keep; reading lets the server finish its write). The
        answer's status stands even if its body is cut short."""
        left = self.max_response_bytes
        try:
            while left > 0 and not fired.is_set():
                chunk = response.read(min(left, 16 * 1024))
                if not chunk:
                    break
                left -= len(chunk)
        except (OSError, http.client.HTTPException):
            pass

    def _addresses(self, host: str, port: int) -> list[str]:
        literal = ip_literal(host)
        addresses = [str(literal)] if literal is not None else self._resolve(host, port)
        if not addresses:
            raise OSError("no addresses")
        if not self.allow_private:
            bad = [a for a in addresses if forbidden_address(ipaddress.ip_address(a))]
            if bad:
                raise UnsafeDestination(f"{host} resolves to a private or reserved address "
                                        f"({bad[0]})")
        return addresses

    def _resolve(self, host: str, port: int) -> list[str]:
        """``resolve(host, port)`` within the call's timeout (getaddrinfo has
        none of its own: a lookup left running is abandoned to finish alone)."""
        found: list[list[str]] = []
        failed: list[BaseException] = []

        def lookup() -> None:
            try:
                found.append(self.resolve(host, port))
            except Exception as error:  # noqa: BLE001 - handed back to the caller
                failed.append(error)

        thread = threading.Thread(target=lookup, name="webhook-dns", daemon=True)
        thread.start()
        thread.join(self.timeout_s)
        if failed:
            raise OSError(str(failed[0]))
        if not found:
            raise OSError(f"no answer within {self.timeout_s:g} s")
        return found[0]

    def _call(self, https: bool, host: str, port: int, address: str, path: str,
              headers: Mapping[str, str], body: bytes,
              timeout_s: float) -> tuple[int | None, str]:
        """(status, "") for an answer; (None, error) otherwise; (None,
        "connect") if no connection could be made (the next address is tried)."""
        connection: _PinnedHTTPConnection | _PinnedHTTPSConnection = (
            _PinnedHTTPSConnection(host, port, address, timeout_s, self.ssl_context) if https
            else _PinnedHTTPConnection(host, port, address, timeout_s))
        fired = threading.Event()
        deadline = threading.Timer(timeout_s, _shut, (connection, fired))
        deadline.daemon = True
        deadline.start()
        try:
            try:
                connection.connect()
            except (TimeoutError, socket.timeout):
                return None, f"timed out connecting after {timeout_s:g} s"
            except ssl.SSLError as error:
                return None, f"TLS failed: {error}"
            except OSError:
                return None, "connect"
            connection.request("POST", path, body=body, headers={
                "Content-Type": "application/json", "User-Agent": USER_AGENT,
                "Content-Length": str(len(body)), **headers})
            response = connection.getresponse()
            status = response.status
            if 300 <= status < 400:
                where = (response.getheader("Location") or "")[:100]
                return status, f"redirect to {where!r} not followed"
            self._drain(response, fired)
            return status, ""
        except (TimeoutError, socket.timeout):
            return None, f"timed out after {self.timeout_s:g} s"
        except (OSError, http.client.HTTPException, ValueError) as error:
            # (ValueError: UnicodeError among others, e.g. a URL http.client
            # cannot encode: a failed call like any other, never an escape)
            if fired.is_set():
                return None, f"timed out after {self.timeout_s:g} s"
            return None, f"{type(error).__name__}: {str(error)[:200]}"
        finally:
            deadline.cancel()
            connection.close()
