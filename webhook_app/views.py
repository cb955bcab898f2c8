"""POST /webhooks/<bank>: authenticate the bank, then hand the event to the
deposit module. Every attempt is stored with its verdict; a refused one changes
nothing else."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time

from pyramid.response import Response
from pyramid.view import notfound_view_config, view_config
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.deposits import DepositService
from webapp.withdrawals import WithdrawalService
from webapp.models import WebhookAttempt, WebhookEvent
from webapp.wallet import utcnow

from .signatures import SignatureError, verify

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 16 * 1024
_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}", re.ASCII)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,64}", re.ASCII)
DEPOSIT_OUTCOMES = {"deposit.succeeded": "success", "deposit.failed": "failed"}
PAYOUT_OUTCOMES = {"payout.reversed": "reversed"}
# Settle verdict -> (HTTP status, stored verdict). 2xx stops the bank's retries.
SETTLE_ANSWERS = {
    "credited": (200, "applied"),
    "failed": (200, "applied"),
    "already_settled": (200, "already_settled"),
    "contradiction": (200, "flagged_contradiction"),
    "mismatch": (422, "flagged_mismatch"),
    "unknown": (404, "unknown_reference"),
    # payouts (WithdrawalService.settle_by_reference)
    "reversed": (200, "applied"),
    "completed": (200, "applied"),
    "already": (200, "already_settled"),
    "flagged": (200, "flagged_contradiction"),
}


def storable(text: str | None, limit: int) -> str | None:
    """Text as the audit table can keep it: PostgreSQL text refuses NUL
    characters, which a stranger's request may well contain."""
    return None if text is None else text[:limit].replace("\x00", "\ufffd")


def answer(request, status: int, verdict: str, detail: str = "", *, bank_code: str,
           event_id: str | None, body: bytes, transaction_id: int | None = None) -> Response:
    request.dbsession.add(WebhookAttempt(
        bank_code=storable(bank_code, 32),
        event_id=storable(event_id or None, 100),
        source_ip=storable(request.remote_addr or "", 64),
        signature_header=storable(request.headers.get("X-Bank-Signature") or None, 600),
        body=storable(body[:MAX_BODY_BYTES].decode("utf-8", "replace"), MAX_BODY_BYTES),
        http_status=status,
        verdict=verdict,
        detail=storable(detail, 300),
        transaction_id=transaction_id,
        received_at=utcnow(),
    ))
    log.info("webhook %s %s from %s: %s %s", bank_code, event_id, request.remote_addr, status,
             verdict)
    return Response(json=({"status": verdict, "detail": detail}), status=status)


@view_config(route_name="bank_webhook", request_method="POST")
def bank_webhook(request):
    bank_code = request.matchdict["bank"]
    event_id = request.headers.get("X-Bank-Event-Id")
    body = request.body_file.read(MAX_BODY_BYTES + 1)
    reply = lambda status, verdict, detail="", tx=None: answer(  # noqa: E731
        request, status, verdict, detail, bank_code=bank_code, event_id=event_id, body=body,
        transaction_id=tx)

    bank = request.registry["banks"].get(bank_code)
    # remote_addr, never client_addr: WebOb's client_addr believes the first
    # X-Forwarded-For entry. Behind a proxy, waitress's trusted_proxy settings
    # rewrite remote_addr from the hop the proxy appended.
    if bank is None:
        return reply(404, "unknown_bank", "no such bank endpoint")
    if not bank.allows(request.remote_addr):
        return reply(403, "ip_not_allowed", f"{request.remote_addr} is not an address of {bank.name}")
    if len(body) > MAX_BODY_BYTES:
        return reply(413, "body_too_large", f"bodies are at most {MAX_BODY_BYTES} bytes")
    try:
        verify(request.headers.get("X-Bank-Signature"), body, bank.webhook_secrets, time.time())
    except SignatureError as exc:
        return reply(401, exc.verdict, str(exc))
    if not event_id or not _EVENT_ID.fullmatch(event_id):
        return reply(400, "bad_event_id", "X-Bank-Event-Id is missing or malformed")
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return reply(400, "malformed_json", "the body is not JSON")
    problem = check_event(event)
    if problem:
        return reply(422, "missing_fields", problem)

    db = request.dbsession
    body_sha256 = hashlib.sha256(body).hexdigest()
    # Claim the event id first: a concurrent twin delivery waits here and then
    # takes the duplicate path instead of processing the event again.
    savepoint = db.begin_nested()
    record = WebhookEvent(bank_code=bank_code, event_id=event_id, body_sha256=body_sha256,
                          outcome="processing", processed_at=utcnow())
    try:
        db.add(record)
        db.flush()
    except IntegrityError:
        savepoint.rollback()
        seen = db.scalar(select(WebhookEvent).where(
            WebhookEvent.bank_code == bank_code, WebhookEvent.event_id == event_id))
        if seen is None or seen.body_sha256 != body_sha256:
            return reply(409, "replayed_event_id", "this event id was used for another event")
        return reply(200, "duplicate_event", f"already processed: {seen.outcome}",
                     seen.transaction_id)

    banks = request.registry["banks"]
    if event["type"] in PAYOUT_OUTCOMES:
        outcome = WithdrawalService(db, banks).settle_by_reference(
            event["reference"], PAYOUT_OUTCOMES[event["type"]], bank_code=bank_code,
            amount_paise=event["amount_paise"], currency=event["currency"],
            source=f"webhook {event_id}")
        tx_id = int(event["reference"][3:]) if outcome != "unknown" else None
        verdict_key, detail = outcome, ""
    else:
        result = DepositService(db, banks).settle(
            event["reference"],
            DEPOSIT_OUTCOMES[event["type"]],
            bank_code=bank_code,
            amount_paise=event["amount_paise"],
            currency=event["currency"],
            source=f"webhook {event_id}",
            reason=str(event.get("reason") or ""),
        )
        tx_id = result.transaction.id if result.transaction is not None else None
        verdict_key, detail = result.verdict, result.detail
    status, verdict = SETTLE_ANSWERS[verdict_key]
    if verdict_key == "unknown":
        savepoint.rollback()  # not processed: a later delivery is judged afresh
    else:
        record.outcome, record.transaction_id = verdict, tx_id
        savepoint.commit()
    return reply(status, verdict, detail, tx_id)


def check_event(event: object) -> str:
    """What is wrong with an event's fields, or '' if nothing."""
    if not isinstance(event, dict):
        return "the body must be a JSON object"
    if event.get("type") not in DEPOSIT_OUTCOMES and event.get("type") not in PAYOUT_OUTCOMES:
        return f"type must be one of {sorted([*DEPOSIT_OUTCOMES, *PAYOUT_OUTCOMES])}"
    reference = event.get("reference")
    if not isinstance(reference, str) or not _TOKEN.fullmatch(reference):
        return "reference is missing or malformed"
    amount = event.get("amount_paise")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount < 10**15:
        return "amount_paise must be a positive integer"
    if not isinstance(event.get("currency"), str) or len(event["currency"]) != 3:
        return "currency must be a 3-letter code"
    return ""


@notfound_view_config(renderer="json")
def notfound(request):
    request.response.status = 404
    return {"status": "not_found"}
