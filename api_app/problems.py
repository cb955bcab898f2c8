"""Errors as ``application/problem+json`` (RFC 9457): a stable machine-readable
``code`` (and ``type``, the same as a URI reference), a title, the status, a
detail for the person, and per-field ``errors`` for validation problems."""
from __future__ import annotations

from typing import Any

from pyramid.response import Response

MEDIA_TYPE = "application/problem+json"

#: code -> (HTTP status, title). The codes are part of the API: never change one.
#: The domain's refusals are answered by their ``code`` (wallet.core.errors):
#: each has its entry here (tests/domain/test_error_codes.py).
PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed_request": (400, "The request could not be read"),
    "validation_error": (422, "Some fields are not valid"),
    "unauthorized": (401, "Sign in first"),
    "invalid_credentials": (401, "That phone number and password do not match"),
    "login_throttled": (429, "Too many failed sign-ins"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "Not acceptable"),
    "unsupported_media_type": (415, "Send JSON"),
    "payload_too_large": (413, "The body is too large"),
    "idempotency_key_missing": (400, "An Idempotency-Key header is required"),
    "idempotency_key_invalid": (400, "The Idempotency-Key header is not well formed"),
    "idempotency_key_reused": (409, "This Idempotency-Key was used for another request"),
    "insufficient_funds": (422, "Not enough money in the wallet"),
    "recipient_not_found": (422, "No such recipient"),
    "self_transfer": (422, "You cannot send money to yourself"),
    "limit_exceeded": (422, "Over the limit"),
    "duplicate_request": (409, "This request key was used with other details"),
    "wallet_frozen": (409, "This wallet is frozen: money cannot leave it"),
    "rate_limited": (429, "Too many requests"),
    "server_error": (500, "Something went wrong on our side"),
    # Shops' servers (merchant keys): payment requests and refunds.
    "wrong_credential_type": (401, "This endpoint takes the other kind of credential"),
    "order_reference_reused": (409, "This order reference was used with other details"),
    "not_payable": (409, "This payment request is no longer open"),
    "not_refundable": (409, "Only a paid payment request can be refunded"),
    "refund_too_large": (422, "More than is left to refund"),
    # AutoPay mandates (wallet.merchants.mandates).
    "mandate_not_active": (409, "This mandate is not active"),
    "mandate_amount_exceeded": (422, "More than the mandate's maximum per debit"),
    "mandate_outside_dates": (422, "Outside the mandate's dates"),
    "mandate_period_used": (409, "This period of the mandate already has a debit"),
    "debit_not_open": (409, "This debit is no longer open"),
    # Step-up and limits (wallet.identity.pins, wallet.money.limits).
    "wrong_pin": (403, "Wrong wallet PIN"),
    "pin_not_set": (403, "Set your wallet PIN first"),
    "pin_locked": (423, "Payments are locked after too many wrong PINs"),
    "pin_already_set": (409, "A PIN is already set: change it with the old one"),
    "wallet_limit": (422, "Over the wallet's limit"),
    "recipient_limit": (422, "The recipient's wallet cannot receive that much"),
    # Users' money requests and split bills (wallet.money.money_requests, splits).
    # Users' tickets (wallet.care.tickets).
    "ticket_not_found": (404, "No such ticket"),
    "ticket_transaction_not_found": (404, "No such transaction of yours"),
    "ticket_category_refused": (422, "That problem cannot be reported about this transaction"),
    "ticket_already_open": (409, "A problem with this transaction is already reported"),
    "ticket_closed": (409, "This ticket is closed"),
    "reversal_refused": (409, "This transaction cannot be reversed"),
    "reversal_not_covered": (409, "The recipient no longer has the amount"),
    # Fraud reported on a transfer (wallet.care.fraud).
    "fraud_not_reportable": (422, "Fraud can be reported only on a transfer you sent"),
    "fraud_report_not_found": (404, "No such fraud report about a payment you received"),
    "fraud_hold_decided": (409, "This fraud report has been decided"),
    "money_request_not_found": (404, "No such money request"),
    "money_request_closed": (409, "This money request is no longer open"),
    "self_request": (422, "You cannot ask yourself for money"),
    "requests_blocked": (422, "This person does not take requests from you"),
    "request_limit": (429, "Too many money requests today"),
    "amount_changed": (409, "The amount asked for changed: look again"),
    "split_not_found": (404, "No such split bill"),
    "split_closed": (409, "This split bill is closed"),
    "remind_too_soon": (429, "A reminder was sent a short while ago"),
    # The domain's refusals that no endpoint reaches today (the browser apps'
    # forms): each answered as itself all the same, should one reach the API.
    "kyc_refused": (422, "The identity details could not be verified"),
    "account_not_registered": (422, "Not one of the shop's registered bank accounts"),
    "account_cooling_off": (409, "This bank account is still in its cooling-off period"),
    "webhook_refused": (422, "The webhook settings are not valid"),
    # Scheduled and recurring payments (wallet.money.schedules).
    "schedule_not_found": (404, "No such scheduled payment"),
    "schedule_not_changeable": (409, "The scheduled payment cannot be changed that way now"),
    # Disputes of shop payments (wallet.merchants.disputes).
    "dispute_not_found": (404, "No such dispute"),
    "not_disputable": (422, "Only a completed shop payment of yours can be disputed"),
    "dispute_already_open": (409, "This payment is already disputed"),
    "nothing_to_dispute": (409, "This payment was refunded in full"),
    "dispute_closed": (409, "This dispute is no longer awaiting that"),
    # A first payment held for its undo window (wallet.money.transfer_holds).
    "transfer_not_found": (404, "No such transfer of yours"),
    "undo_closed": (409, "This transfer can no longer be undone"),
    # A shop's stores (wallet.merchants.stores).
    "store_not_found": (422, "No such store of your shop"),
    "store_handle_taken": (409, "That handle pays another shop or store"),
    "store_not_closable": (409, "This store cannot be closed"),
    "store_closed": (409, "This store no longer takes payments"),
    # Payment links (wallet.merchants.payment_links).
    "payment_link_not_found": (404, "No such payment link"),
    "payment_link_not_payable": (409, "This payment link is no longer open"),
    "payment_link_reference_reused": (409, "Another payment link of yours has this reference"),
    # Shops' settlements (wallet.banking.auto_settlement).
    "settlement_not_found": (404, "No such settlement"),
    "nothing_to_settle": (409, "Nothing available to settle"),
    # Receive handles and scanned QR codes (wallet.identity.handles, wallet.money.pay_codes).
    "handle_taken": (409, "That handle is taken"),
    "handle_already_chosen": (409, "Your handle was chosen already and cannot be changed"),
    "not_a_pay_code": (422, "This QR is not a wallet payment code"),
    "image_unreadable": (400, "The picture could not be read"),
    # One-time codes sent to a phone (wallet.identity.phone_codes).
    "code_refused": (422, "The code was not accepted"),
    "wrong_code": (422, "That is not the code sent"),
    "code_expired": (410, "The code has expired: ask for a new one"),
    "code_dead": (410, "The code can no longer be used: start again"),
    "codes_throttled": (429, "Too many codes sent to this phone lately"),
    # A user's saved bank accounts (wallet.banking.saved_accounts).
    "bank_account_not_found": (404, "No such saved bank account of yours"),
    "bank_account_unknown": (422, "The bank has no such account"),
    "bank_unavailable": (503, "The bank did not answer: try again in a minute"),
}


def problem(code: str, detail: str = "", *, errors: list[dict[str, str]] | None = None,
            status: int | None = None, headers: dict[str, str] | None = None) -> Response:
    default_status, title = PROBLEMS[code]
    body: dict[str, Any] = {"type": f"/problems/{code.replace('_', '-')}", "title": title,
                            "status": status or default_status, "code": code}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json_body=body, status=body["status"], content_type=MEDIA_TYPE,
                        charset="utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_error(field: str, message: str) -> Response:
    return problem("validation_error", message, errors=[{"field": field, "message": message}])
