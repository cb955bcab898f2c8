"""The README's first command, for real: ``wallet-dev development.ini`` in a
fresh directory, driven over HTTP like a person would, then stopped with Ctrl-C.
(The ``pip install -e .`` half of that line has already run for the suite.)"""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from wallet.seed import DEMO_PIN

from ..conftest import ON_POSTGRES
from ..live_servers import free_ports, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    ON_POSTGRES, reason="exercises the embedded default (SQLite); run in the SQLite pass")


class Browser:
    """Cookies and forms over urllib; redirects are returned, not followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect())

    def request(self, url, form=None):
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(url, data=data, timeout=15) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def form_fields(self, url):
        _, _, page = self.request(url)
        return dict(re.findall(r'name="(csrf_token|request_key)" value="([^"]+)"', page))


def test_wallet_dev_runs_the_whole_wallet_and_stops_cleanly(tmp_path):
    (user_port, merchant_port, webhook_port, bank_port, api_port, admin_port,
     metrics_port, announcer_port) = free_ports(8)
    ini = (ROOT / "development.ini").read_text()
    ini = ini.replace("huey.metrics_port = 6550", f"huey.metrics_port = {metrics_port}")
    for old, new in (("6543", user_port), ("6544", merchant_port), ("6545", webhook_port),
                     ("6546", bank_port), ("6547", api_port), ("6548", admin_port),
                     ("6549", announcer_port)):
        ini = ini.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}")
    (tmp_path / "development.ini").write_text(ini)
    wallet_dev = shutil.which("wallet-dev") or pytest.fail("wallet-dev is not installed")
    log = (tmp_path / "wallet-dev.log").open("w")
    process = subprocess.Popen([wallet_dev, "development.ini"], cwd=tmp_path, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    user, bank = f"http://127.0.0.1:{user_port}", f"http://127.0.0.1:{bank_port}"
    try:
        for port in (user_port, merchant_port, webhook_port, bank_port, api_port, admin_port,
                     announcer_port):
            wait_until(lambda port=port: ready(f"http://127.0.0.1:{port}/readyz"),
                       f"port {port} ready", timeout_s=180)
        browser = Browser()
        fields = browser.form_fields(f"{user}/login")
        status, _, _ = browser.request(f"{user}/login", {
            **fields, "phone": "+919876543210", "password": "demo-pass-123"})
        assert status == 303

        # Add money through the fake bank's net-banking page.
        fields = browser.form_fields(f"{user}/add-money")
        status, headers, _ = browser.request(f"{user}/add-money",
                                             {**fields, "bank": "hdfc", "amount": "750.25"})
        assert status == 303 and headers["Location"].startswith(f"{bank}/hdfc/netbanking")
        _, _, page = browser.request(headers["Location"])
        action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
        customer = re.search(r'<option value="(\d+)"', page).group(1)
        status, headers, _ = browser.request(action, {"action": "approve", "customer_id": customer})
        deposit_page = headers["Location"]
        assert status == 302 and deposit_page.startswith(f"{user}/deposits/")
        wait_until(lambda: 'data-status="success"' in browser.request(deposit_page)[2],
                   "the deposit to be credited by the bank's webhook", timeout_s=30)

        # Send money to the other demo user.
        fields = browser.form_fields(f"{user}/send")
        status, _, _ = browser.request(f"{user}/send", {
            **fields, "phone": "9812345678", "amount": "100", "note": "lunch",
            "pin": DEMO_PIN})  # (the confirm step's fields: the form's and the PIN)
        assert status == 303

        # Withdraw to a bank account: the worker pays it out in the background.
        fields = browser.form_fields(f"{user}/withdraw")
        status, headers, _ = browser.request(f"{user}/withdraw", {
            **fields, "bank": "hdfc", "account_number": "50100012345678", "ifsc": "HDFC0001234",
            "amount": "200", "pin": DEMO_PIN})
        assert status == 303
        withdrawal_page = headers["Location"]
        wait_until(lambda: 'data-status="completed"' in browser.request(withdrawal_page)[2],
                   "the withdrawal to be paid out by the worker", timeout_s=60)
        _, _, dashboard = browser.request(f"{user}/dashboard")
        # 4,650.00 seeded + 750.25 - 100 - 200
        assert 'id="available">₹5,100.25<' in dashboard

        # The phone app's API sees the same wallet.
        api = f"http://127.0.0.1:{api_port}"
        token = call_json(f"{api}/v1/tokens", {"phone": "+919876543210",
                                               "password": "demo-pass-123",
                                               "device_name": "wallet-dev test"})["token"]
        me = call_json(f"{api}/v1/me", token=token)
        assert me["balance"]["available"]["amount_paise"] == 5_100_25

        # Prometheus: every app at /metrics, the worker on its own port; the
        # worker paid the withdrawal out, and the queues are empty again.
        for port in (user_port, merchant_port, webhook_port, api_port):
            status, headers, text = browser.request(f"http://127.0.0.1:{port}/metrics")
            assert status == 200 and "version=0.0.4" in headers["Content-Type"]
            assert 'wallet_queue_depth{queue="payouts",state="queued"} 0.0' in text
        status, _, text = browser.request(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200
        assert 'wallet_payouts_total{bank="hdfc",outcome="completed"} 1.0' in text
        assert 'wallet_bank_call_duration_seconds_count{bank="hdfc",call="send_payout"' in text
    finally:
        stopped = stop(process)
        log.close()
    assert stopped, (tmp_path / "wallet-dev.log").read_text()[-3000:]
    assert process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of the group is left

    admin = [sys.executable, "-m", "wallet_cli.admin", "development.ini", "verify"]
    clean = subprocess.run(admin, cwd=tmp_path, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "ledger OK" in clean.stdout and "records vs ledger: OK" in clean.stdout
    with sqlite3.connect(tmp_path / "var" / "wallet.sqlite") as db:
        db.execute("UPDATE ledger_accounts SET posted_paise = posted_paise + 1 "
                   "WHERE code = 'user:1:wallet'")
    broken = subprocess.run(admin, cwd=tmp_path, capture_output=True, text=True)
    assert broken.returncode == 1
    assert "user:1:wallet: stored posted balance" in broken.stdout


def call_json(url: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers),
                                timeout=15) as response:
        reply: dict = json.load(response)
        return reply


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def stop(process: subprocess.Popen, timeout_s: float = 30) -> bool:
    """Ctrl-C, as a person would; True if everything stopped by itself."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return process.returncode is not None
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # clean up, but report the failure
    return False
