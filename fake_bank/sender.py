"""Delivers the fake bank's webhooks: signed, retried with backoff until a 2xx.

The signing code is written here on its own, as a bank would write it, so the
tests check our verifier against an independent implementation of each
contract: the standard one, and Ledgerline's for a bank speaking it
(fake_bank.dialects).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .behaviour import Behaviour
from .dialects import LEDGERLINE
from .models import Delivery

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
MAX_BACKOFF_S = 60
TIMEOUT_S = 10


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def ledgerline_headers(secret: str, event_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    """Ledgerline's signature: the event id and time are signed with the body."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    mac = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha512).digest())
    return {"Ledgerline-Event-Id": event_id, "Ledgerline-Timestamp": str(timestamp),
            "Ledgerline-Signature": f"sha512={mac.decode()}"}


def post_webhook(url: str, secret: str, event_id: str, body: bytes) -> int:
    """POST one signed webhook (the standard contract); the HTTP status, or raises OSError."""
    return _post(url, body, {
        "X-Bank-Event-Id": event_id,
        "X-Bank-Signature": signature_header(secret, body, int(time.time())),
    })


def post_ledgerline_webhook(url: str, secret: str, event_id: str, body: bytes) -> int:
    """POST one webhook signed as Ledgerline signs; the HTTP status, or raises OSError."""
    return _post(url, body, ledgerline_headers(secret, event_id, body, int(time.time())))


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def deliver_due(session_factory: sessionmaker[Session], webhook_url: str,
                secrets: dict[str, str], behaviour: Behaviour,
                dialects: Mapping[str, str] | None = None) -> int:
    """Send every webhook that is due, each signed in its bank's dialect;
    returns how many were attempted. No database transaction is held while a
    webhook is on the wire."""
    now = utcnow()
    with session_factory() as session:
        due = [(d.id, d.bank_code, d.event_id, d.body, d.lost) for d in session.scalars(
            select(Delivery)
            .where(Delivery.delivered_at.is_(None), Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(50))]
    for delivery_id, bank_code, event_id, body, lost in due:
        status: int | None = None
        error = ""
        if lost:  # the "webhook lost" knob: the bank thinks it sent it
            error = "lost on purpose"
        else:
            post = (post_ledgerline_webhook if (dialects or {}).get(bank_code) == LEDGERLINE
                    else post_webhook)
            try:
                status = post(webhook_url.format(bank=bank_code), secrets[bank_code],
                              event_id, body.encode())
            except OSError as exc:
                error = str(exc)[:300]
        with session_factory() as session, session.begin():
            delivery = session.get_one(Delivery, delivery_id)
            delivery.attempts += 1
            delivery.last_status, delivery.last_error = status, error
            if lost or (status is not None and 200 <= status < 300):
                delivery.delivered_at = utcnow()
            elif delivery.attempts >= MAX_ATTEMPTS:
                delivery.next_attempt_at = None  # give up, as banks eventually do
            else:
                backoff_s = min(2 ** delivery.attempts, MAX_BACKOFF_S)
                jitter = 0.5 + behaviour.random()
                delivery.next_attempt_at = utcnow() + dt.timedelta(seconds=backoff_s * jitter)
    return len(due)


class SenderThread(threading.Thread):
    """Background loop of :func:`deliver_due` (started by the fake bank's app)."""

    def __init__(self, interval_s: float = 0.2, **kwargs: Any):
        super().__init__(name="fake-bank-webhooks", daemon=True)
        self.interval_s = interval_s
        self.kwargs = kwargs
        self._stopping = threading.Event()

    def run(self) -> None:
        from .payouts import reverse_due

        while not self._stopping.is_set():
            try:
                reverse_due(self.kwargs["session_factory"], self.kwargs.get("dialects"))
                deliver_due(**self.kwargs)
            except Exception:  # noqa: BLE001 - keep the loop alive, as a bank would
                log.exception("webhook delivery round failed")
            self._stopping.wait(self.interval_s)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)
