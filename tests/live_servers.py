"""Helpers for end-to-end tests over real HTTP: WSGI apps served by waitress on
loopback ports from background threads, a plain HTTP client that does not
follow redirects, bounded polling, and a headless Chromium driven by Playwright.
"""
from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPConnection
from typing import Callable, Iterator, TypeVar

import pytest
import waitress

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own browsers are not installed
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

T = TypeVar("T")


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports of 127.0.0.1 that were free a moment ago (all
    sockets are held open together, so no two are the same)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@contextlib.contextmanager
def serving(app, port: int = 0, **waitress_options) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:``port`` (0: any free port) from a background
    thread; yields its base URL once /healthz answers, stops it on exit."""
    server = waitress.create_server(app, host="127.0.0.1", port=port,
                                    **{"threads": 4, **waitress_options})
    base_url = f"http://127.0.0.1:{server.effective_port}"
    thread = threading.Thread(target=server.run, name=f"waitress-{server.effective_port}",
                              daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
            assert response.status == 200  # answered by the server thread: it is up
        yield base_url
    finally:
        # Stop listening, from the loop thread itself: close() from this thread can
        # close the socket under the loop's select() (EBADF in the loop thread).
        # The loop ends with the last connection. The thunk is queued and the
        # trigger written under the trigger's lock: pull_trigger() appends first
        # and writes after, so a wake-up in between (a worker finishing a
        # response pulls it too) could run close(), which closes the trigger's
        # pipe before our write (EBADF, or a write into a reused descriptor).
        with server.trigger.lock:
            server.trigger.thunks.append(server.close)
            server.trigger.pull_trigger()
        server.task_dispatcher.shutdown()  # close() leaves the worker threads running
        thread.join(timeout=5)
        assert not thread.is_alive()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def http(method: str, url: str, *, body: bytes | str | None = None,
         headers: dict[str, str] | None = None, form: dict | None = None) -> Reply:
    """One HTTP request on a fresh connection; redirects are returned, not followed."""
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    parts = urllib.parse.urlsplit(url)
    connection = HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def wait_until(check: Callable[[], T], what: str, timeout_s: float = 10.0,
               step_s: float = 0.1) -> T:
    """Poll ``check()`` until it returns something true, and return that; fail the
    test with ``what`` if it has not after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout_s} s waiting for {what}", pytrace=False)
        time.sleep(step_s)


class BrowserThread:
    """Headless Debian Chromium, driven by Playwright's sync API from a thread of
    its own.

    A thread can run only one sync Playwright at a time, and tests/apps/test_browser.py
    keeps one running in the main thread for the whole session; so this one lives
    in a worker thread, and browser steps are functions of a page that
    :meth:`run` executes there (their assertion errors come back to the caller).
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._playwright = self._browser = None
        try:
            self._call(self._launch)
        except BaseException:
            self.close()
            raise

    def _call(self, fn: Callable[[], T]) -> T:
        return self._executor.submit(fn).result()

    def _launch(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

    def run(self, base_url: str, steps: Callable[..., T]) -> T:
        """``steps(page)`` on a page of a new browser context (its own cookies: one
        person on one phone) whose relative URLs go to ``base_url``."""
        def in_browser_thread():
            context = self._browser.new_context(base_url=base_url, locale="en-IN")
            try:
                return steps(context.new_page())
            finally:
                context.close()  # before the servers stop: no keep-alive left open

        return self._call(in_browser_thread)

    def close(self) -> None:
        def stop():
            if self._browser is not None:
                self._browser.close()
            if self._playwright is not None:
                self._playwright.stop()

        try:
            self._call(stop)
        finally:
            self._executor.shutdown()


def confirm_in_browser(page, pin: str, button: str) -> None:
    """On a money form's confirm page (or the checkout), type the wallet PIN
    and press ``button`` ("Send now", "Pay now", "Confirm and pay ₹250.00")."""
    page.locator("#pin").fill(pin)
    page.get_by_role("button", name=button).click()


def banks_served_by(settings: dict[str, str], bank_url: str, codes: tuple[str, ...]) -> None:
    """Point the wallet's ``codes`` banks (net banking and API) at the fake bank."""
    for code in codes:
        settings[f"banks.{code}.netbanking_url"] = f"{bank_url}/{code}/netbanking"
        settings[f"banks.{code}.api_url"] = f"{bank_url}/{code}/api"


def fake_bank_settings(shared: dict[str, str], tmp_path, webhook_port: int, seed: int,
                       **extra: str) -> dict[str, str]:
    """A fake bank on its own SQLite file, calling the wallet's webhook app on
    ``webhook_port`` from a thread, at once, taking knobs per request."""
    return {
        **shared,  # the bank's own copy of the keys, secrets and protocols
        "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'fake_bank.sqlite'}",
        "fake_bank.webhook_url": f"http://127.0.0.1:{webhook_port}/webhooks/{{bank}}",
        "fake_bank.sender": "thread",
        "fake_bank.latency_ms": "0",
        "fake_bank.allow_overrides": "true",
        "fake_bank.seed": str(seed),
        **extra,
    }
