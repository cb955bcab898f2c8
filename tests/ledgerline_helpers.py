"""A bank speaking Ledgerline (banks.icici.protocol = ledgerline) beside the
standard ones of BANK_SETTINGS, and Ledgerline's signature and bodies written
here on their own, as the bank would write them (docs/webhooks.md)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from wallet.banking.banks import load_banks

from .conftest import BANK_SETTINGS

ICICI_SECRET = "test-icici-secret-new-" + "s" * 20
ICICI_OLD_SECRET = "test-icici-secret-old-" + "s" * 20
ICICI_API_KEY = "test-icici-api-key-" + "k" * 20
ICICI_IP = "203.0.113.9"

LEDGERLINE_BANK = {
    "banks.icici.name": "ICICI Bank",
    "banks.icici.protocol": "ledgerline",
    "banks.icici.netbanking_url": "http://127.0.0.1:9/icici/netbanking",
    "banks.icici.api_url": "http://127.0.0.1:9/icici/api",
    "banks.icici.api_key": ICICI_API_KEY,
    "banks.icici.webhook_secrets": f"{ICICI_SECRET} {ICICI_OLD_SECRET}",
    "banks.icici.ifsc_prefixes": "ICIC",
    "banks.icici.allowed_networks": "127.0.0.0/8 ::1/128 203.0.113.0/24",
}
#: BANK_SETTINGS (hdfc and axis: the standard contract) and icici (Ledgerline).
SETTINGS = {**BANK_SETTINGS, **LEDGERLINE_BANK, "banks.enabled": "hdfc axis icici"}
BANKS = load_banks(SETTINGS)


def ll_signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{event_id}.{timestamp}.".encode() + body, hashlib.sha512)
    return "sha512=" + base64.b64encode(mac.digest()).decode()


def ll_headers(body: bytes, event_id: str | None = "evt_ll_1", *, secret: str = ICICI_SECRET,
               t: int | None = None, signature: str | None = None) -> dict[str, str]:
    """Ledgerline's webhook headers (``signature``: sent instead of the real one)."""
    t = int(time.time()) if t is None else t
    headers = {"Content-Type": "application/json", "Ledgerline-Timestamp": str(t),
               "Ledgerline-Signature": (ll_signature(secret, event_id or "", t, body)
                                        if signature is None else signature)}
    if event_id is not None:
        headers["Ledgerline-Event-Id"] = event_id
    return headers


def ll_event(event_type: str, reference: str, value: object = "500.50", *,
             currency: object = "INR", reason: object = None, amount: object = None) -> bytes:
    """A Ledgerline event body (``amount``: sent instead of the usual object)."""
    resource = "collection" if event_type.startswith("COLLECTION") else "transfer"
    record = {"clientReference": reference, "bankReference": "LL000000000001",
              "status": event_type.split(".")[1],
              "amount": {"value": value, "currency": currency} if amount is None else amount,
              "statusReason": reason}
    return json.dumps({"eventType": event_type, "createdAt": "2025-05-01T10:00:00Z",
                       "data": {resource: record}}).encode()
