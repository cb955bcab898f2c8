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

from wallet.core.errors import WalletError
from wallet.identity.errors import AccountError, LoginThrottled

from .problems import PROBLEMS, problem
from .security import MERCHANT, current_caller

log = logging.getLogger(__name__)

#: API field names where they differ from the domain's form field names.
FIELD_NAMES = {"phone": "to_phone", "handle": "merchant_handle", "amount": "amount_paise"}


def wallet_refused(exc: WalletError, request: Request) -> Response:
    """The domain's refusal as the problem its ``code`` names (PROBLEMS: the
    status and title). A code PROBLEMS lacks is our bug, answered as one
    (tests/domain/test_error_codes.py keeps every error's code in PROBLEMS)."""
    if exc.code not in PROBLEMS:
        log.error("no problem for the code %r of %s", exc.code, type(exc).__qualname__)
        return unexpected(exc, request)
    field = FIELD_NAMES.get(exc.field or "", exc.field)
    errors = [{"field": field, "message": str(exc)}] if field else None
    retry_after_s = getattr(exc, "retry_after_s", None)  # (a locked PIN's)
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return problem(exc.code, str(exc), errors=errors, headers=headers)


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
