"""Every failure becomes a problem+json answer: the domain's refusals, the
OpenAPI document's validation, unknown paths, missing sign-in, and -- logged as
our bug -- anything unexpected."""
from __future__ import annotations

import logging
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import (
    HTTPException,
    HTTPForbidden,
    HTTPMethodNotAllowed,
    HTTPNotAcceptable,
    HTTPUnsupportedMediaType,
)
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import (
    AccountError,
    AmountTooLarge,
    DuplicateRequest,
    InsufficientBalance,
    LoginThrottled,
    RecipientNotFound,
    SelfTransfer,
    WalletError,
)
from wallet.core.idempotency import BadIdempotencyKey, IdempotencyKeyReused
from wallet.identity.pins import PinLocked, PinNotSet, PinRefused
from wallet.merchants.payment_requests import (
    OrderReferenceReused,
    RequestNotFound,
    RequestNotPayable,
)
from wallet.merchants.refunds import PaymentNotFound, RefundTooLarge
from wallet.money.freeze import WalletFrozen
from wallet.money.limits import DepositLimit, RecipientLimit

from .problems import problem
from .security import MERCHANT, current_caller

log = logging.getLogger(__name__)

#: The domain's refusals, most specific first.
WALLET_CODES: tuple[tuple[type[WalletError], str], ...] = (
    (WalletFrozen, "wallet_frozen"),
    (PinLocked, "pin_locked"),
    (PinNotSet, "pin_not_set"),
    (PinRefused, "wrong_pin"),
    (DepositLimit, "wallet_limit"),
    (RecipientLimit, "recipient_limit"),
    (InsufficientBalance, "insufficient_funds"),
    (RecipientNotFound, "recipient_not_found"),
    (SelfTransfer, "self_transfer"),
    (AmountTooLarge, "limit_exceeded"),
    (DuplicateRequest, "duplicate_request"),
    (IdempotencyKeyReused, "idempotency_key_reused"),
    (BadIdempotencyKey, "idempotency_key_missing"),
    (OrderReferenceReused, "order_reference_reused"),
    (RequestNotFound, "not_found"),
    (PaymentNotFound, "not_found"),
    (RequestNotPayable, "not_payable"),
    (RefundTooLarge, "refund_too_large"),
)
#: API field names where they differ from the domain's form field names.
FIELD_NAMES = {"phone": "to_phone", "handle": "merchant_handle", "amount": "amount_paise"}


def wallet_refused(exc: WalletError, request: Request) -> Response:
    field = FIELD_NAMES.get(exc.field or "", exc.field)
    for kind, code in WALLET_CODES:
        if isinstance(exc, kind):
            errors = [{"field": field, "message": str(exc)}] if field else None
            headers = ({"Retry-After": str(exc.retry_after_s)} if isinstance(exc, PinLocked)
                       else None)
            return problem(code, str(exc), errors=errors, headers=headers)
    if field:
        return problem("validation_error", str(exc),
                       errors=[{"field": field, "message": str(exc)}])
    return problem("validation_error", str(exc))


def account_refused(exc: AccountError, request: Request) -> Response:
    if isinstance(exc, LoginThrottled):
        return problem("login_throttled", str(exc), headers={"Retry-After": "900"})
    if exc.field:
        return problem("validation_error", str(exc),
                       errors=[{"field": exc.field, "message": str(exc)}])
    return problem("invalid_credentials", str(exc))


def unauthorized(exc: Any, request: Request) -> Response:
    caller = current_caller(request)
    if caller is not None:  # a live credential, but of the other kind
        detail = ("This endpoint takes a user's token (wlt_…); a shop's API key cannot be "
                  "used here." if caller.kind == MERCHANT else
                  "This endpoint takes a shop's API key (sk_live_…); a user's token cannot be "
                  "used here.")
        return problem("wrong_credential_type", detail,
                       headers={"WWW-Authenticate": 'Bearer realm="wallet"'})
    return problem("unauthorized", "Send a valid token: Authorization: Bearer <token>.",
                   headers={"WWW-Authenticate": 'Bearer realm="wallet"'})


def not_found(exc: Any, request: Request) -> Response:
    return problem("not_found", "There is nothing at this address.")


def method_not_allowed(exc: Any, request: Request) -> Response:
    return problem("method_not_allowed", f"{request.method} is not allowed here.")


def unsupported(exc: Any, request: Request) -> Response:
    return problem("unsupported_media_type", "Send the body as application/json.")


def not_acceptable(exc: Any, request: Request) -> Response:
    return problem("not_acceptable", "This API answers JSON.")


def http_error(exc: HTTPException, request: Request) -> Response:
    """Any other HTTP error raised by Pyramid or a library."""
    if exc.code >= 500:
        return unexpected(exc, request)
    return problem("malformed_request", str(exc.detail or exc.explanation or exc.title),
                   status=exc.code)


def unexpected(exc: Exception, request: Request) -> Response:
    log.exception("unexpected error in %s %s", request.method, request.path)
    return problem("server_error", "Something went wrong on our side; nothing was changed.")


def includeme(config: Configurator) -> None:
    views = (
        (WalletError, wallet_refused), (AccountError, account_refused),
        (HTTPForbidden, unauthorized), (HTTPMethodNotAllowed, method_not_allowed),
        (HTTPUnsupportedMediaType, unsupported), (HTTPNotAcceptable, not_acceptable),
        (HTTPException, http_error), (Exception, unexpected),
    )
    for context, view in views:
        config.add_exception_view(view, context=context)
    config.add_notfound_view(not_found)
