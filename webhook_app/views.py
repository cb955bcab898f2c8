"""POST /webhooks/<bank>: the raw body, headers and source address go to the
domain (wallet.banking.bank_webhooks), which authenticates the delivery in the bank's
own protocol, says what its event means and applies it once. Every attempt is
stored with its verdict; a refused one changes nothing else."""
from __future__ import annotations

import logging
from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.banking.bank_events import MAX_BODY_BYTES, record_delivery
from wallet.banking.verdicts import Verdict
from webcommon import request_services
from webcommon.views import notfound_view_config, view_config

log = logging.getLogger(__name__)
# A verdict -> the HTTP status answered; 2xx stops the bank's retries.
HTTP_STATUS = {
    Verdict.UNKNOWN_BANK: 404,
    Verdict.IP_NOT_ALLOWED: 403,
    Verdict.BODY_TOO_LARGE: 413,
    Verdict.MISSING_SIGNATURE: 401,
    Verdict.BAD_SIGNATURE: 401,
    Verdict.STALE_TIMESTAMP: 401,
    Verdict.BAD_EVENT_ID: 400,
    Verdict.FLAGGED_MISMATCH: 422,
    Verdict.UNKNOWN_REFERENCE: 404,
    Verdict.REPLAYED_EVENT_ID: 409,
    Verdict.MALFORMED_JSON: 400,
    Verdict.MISSING_FIELDS: 422,
}


@view_config(route_name="bank_webhook", request_method="POST")
def bank_webhook(request: Request) -> Response:
    bank_code: str = request.matchdict["bank"]
    body: bytes = request.body_file.read(MAX_BODY_BYTES + 1)
    # remote_addr, never client_addr: WebOb's client_addr believes the first
    # X-Forwarded-For entry. Behind a proxy, waitress's trusted_proxy settings
    # rewrite remote_addr from the hop the proxy appended.
    services = request_services(request)
    received = services.bank_webhooks.receive(
        bank_code, source_ip=request.remote_addr, headers=request.headers, body=body)
    status = HTTP_STATUS.get(received.verdict, 200)
    record_delivery(
        request.dbsession, bank_code=bank_code, event_id=received.event_id,
        source_ip=request.remote_addr or "", signature_header=received.signature, body=body,
        http_status=status, verdict=received.verdict, detail=received.detail,
        transaction_id=received.transaction_id)
    log.info("webhook %s %s from %s: %s %s", bank_code, received.event_id,
             request.remote_addr, status, received.verdict)
    # The bank label only ever names a configured bank (bounded cardinality).
    bank = bank_code if bank_code in request.registry["banks"] else "unknown"
    services.observer.webhook_delivery(bank, received.verdict, 200 <= status < 300)
    return Response(json={"status": received.verdict, "detail": received.detail}, status=status)


@notfound_view_config(renderer="json")
def notfound(request: Request) -> dict[str, Any]:
    request.response.status = 404
    return {"status": "not_found"}
