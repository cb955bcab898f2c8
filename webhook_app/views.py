"""POST /webhooks/<bank>: authenticate the bank, then hand the event to the
domain (wallet.bank_events), which says what it means and applies it once.
Every attempt is stored with its verdict; a refused one changes nothing else."""
from __future__ import annotations

import logging
import re
import time
from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.bank_events import MAX_BODY_BYTES, BankEvents, Verdict, record_delivery
from wallet.observe import observer
from webcommon.views import notfound_view_config, view_config

from .signatures import SignatureError, verify

log = logging.getLogger(__name__)
_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}", re.ASCII)
# A verdict -> the HTTP status answered; 2xx stops the bank's retries.
HTTP_STATUS = {
    Verdict.FLAGGED_MISMATCH: 422,
    Verdict.UNKNOWN_REFERENCE: 404,
    Verdict.REPLAYED_EVENT_ID: 409,
    Verdict.MALFORMED_JSON: 400,
    Verdict.MISSING_FIELDS: 422,
}


class Delivery:
    """One call to the endpoint: answers it, and stores every answer for audit."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.bank_code: str = request.matchdict["bank"]
        self.event_id: str | None = request.headers.get("X-Bank-Event-Id")
        self.body: bytes = request.body_file.read(MAX_BODY_BYTES + 1)

    def answer(self, status: int, verdict: str, detail: str = "",
               transaction_id: int | None = None) -> Response:
        request = self.request
        record_delivery(
            request.dbsession, bank_code=self.bank_code, event_id=self.event_id,
            source_ip=request.remote_addr or "",
            signature_header=request.headers.get("X-Bank-Signature"), body=self.body,
            http_status=status, verdict=verdict, detail=detail, transaction_id=transaction_id)
        log.info("webhook %s %s from %s: %s %s", self.bank_code, self.event_id,
                 request.remote_addr, status, verdict)
        # The bank label only ever names a configured bank (bounded cardinality).
        bank = self.bank_code if self.bank_code in request.registry["banks"] else "unknown"
        observer().webhook_delivery(bank, verdict, 200 <= status < 300)
        return Response(json={"status": verdict, "detail": detail}, status=status)


@view_config(route_name="bank_webhook", request_method="POST")
def bank_webhook(request: Request) -> Response:
    delivery = Delivery(request)
    bank = request.registry["banks"].get(delivery.bank_code)
    # remote_addr, never client_addr: WebOb's client_addr believes the first
    # X-Forwarded-For entry. Behind a proxy, waitress's trusted_proxy settings
    # rewrite remote_addr from the hop the proxy appended.
    if bank is None:
        return delivery.answer(404, "unknown_bank", "no such bank endpoint")
    if not bank.allows(request.remote_addr):
        return delivery.answer(403, "ip_not_allowed",
                               f"{request.remote_addr} is not an address of {bank.name}")
    if len(delivery.body) > MAX_BODY_BYTES:
        return delivery.answer(413, "body_too_large",
                               f"bodies are at most {MAX_BODY_BYTES} bytes")
    try:
        verify(request.headers.get("X-Bank-Signature"), delivery.body, bank.webhook_secrets,
               time.time())
    except SignatureError as exc:
        return delivery.answer(401, exc.verdict, str(exc))
    if not delivery.event_id or not _EVENT_ID.fullmatch(delivery.event_id):
        return delivery.answer(400, "bad_event_id", "X-Bank-Event-Id is missing or malformed")
    result = BankEvents(request.dbsession, request.registry["banks"]).apply(
        delivery.bank_code, delivery.event_id, delivery.body)
    return delivery.answer(HTTP_STATUS.get(result.verdict, 200), result.verdict, result.detail,
                           result.transaction_id)


@notfound_view_config(renderer="json")
def notfound(request: Request) -> dict[str, Any]:
    request.response.status = 404
    return {"status": "not_found"}
