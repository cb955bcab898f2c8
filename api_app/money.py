"""The steps every request that moves money goes through, in this order:
a live token (a user's, or a shop's key: their budgets and keys are apart),
the rate limits, an ``Idempotency-Key``, the operation -- the domain's, given
the key as its own request key, so a repeat moves no money and returns the
first movement -- and the answer stored with the key, in the same database
transaction as the money.

The replay-or-run logic is the domain's (wallet.core.idempotency:
IdempotencyKeys.run_once); this adapter reads the key, fingerprints the body
without its PIN, says whether the key must be looked up before a PIN is
compared (a user's token read it already: api_app.security) and answers. A
twin that committed first raises ReplayInstead out of the operation's
transaction: answered by :func:`replay_instead` (an exception view), so the
request rolls back as after any error a view answers."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.idempotency import (
    Found,
    KeyedRequest,
    KeyOwner,
    ReplayInstead,
    StoredResponse,
    fingerprint,
)
from wallet.identity.errors import PinRefused
from webcommon import request_services

from .errors import wallet_refused
from .problems import problem, validation_error
from .security import MERCHANT, Caller, current_caller
from .validation import json_body

Json = dict[str, Any]
Operation = Callable[[str, Json], tuple[int, Json]]
REPLAYED_HEADER = "Idempotent-Replayed"


def json_response(status: int, body: Json, *, replayed: bool = False) -> Response:
    response = Response(json_body=body, status=status, charset="utf-8")
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def strict_int(body: Json, name: str) -> int | Response:
    """An integer field as JSON wrote it: 100.0, "100" and true are refused
    (the JSON Schema type "integer" lets 100.0 through)."""
    value = body.get(name)
    if type(value) is not int:
        return validation_error(name, f"{name} must be a whole number of paise, like 12050.")
    return value


AmountOperation = Callable[[str, Json, int], tuple[int, Json]]


def run_amount_request(request: Request, operation: AmountOperation) -> Response:
    """A money request whose body has an ``amount_paise``: refused at once (422)
    unless it is an integer as JSON wrote it; else run as run_money_request."""
    amount = strict_int(json_body(request), "amount_paise")
    if isinstance(amount, Response):
        return amount
    return run_money_request(request, lambda key, body: operation(key, body, amount))


def run_money_request(request: Request, operation: Operation) -> Response:
    caller = current_caller(request)
    if caller is None:  # (the view's permission already said so)
        return problem("unauthorized", "Send a valid token.")
    limiter = request.registry["api.rate_limiter"]
    ip = request.remote_addr or "unknown"
    if caller.kind == MERCHANT and caller.merchant is not None:
        # A shop's keys share its budget and its Idempotency-Keys.
        verdict = limiter.merchant_request(caller.merchant.id, ip)
        owner = KeyOwner.merchant(caller.merchant.id)
    elif caller.token is not None and caller.user is not None:
        verdict = limiter.money_request(caller.token.id, ip, caller.user.id)
        owner = KeyOwner.user(caller.user.id)
    else:
        return problem("unauthorized", "Send a valid token.")
    if not verdict.allowed:
        return problem("rate_limited", "Too many money requests; wait and try again.",
                       headers={"Retry-After": str(verdict.retry_after_s)})
    keys = request_services(request).idempotency_keys
    key = keys.check_key(request.headers.get("Idempotency-Key"))
    body: Json = json_body(request) or {}  # (a POST without a body: an action, as accept)
    # The PIN is no part of what the key remembers: never stored, even hashed
    # (4 digits behind a plain hash are no secret), and a retry may correct it.
    keyed = KeyedRequest(owner, mode_scoped(key, caller.livemode), fingerprint(
        request.method, request.path, {name: value for name, value in body.items()
                                       if name != "pin"}))

    def run() -> StoredResponse:
        return StoredResponse(*operation(key, body))

    try:
        answer = keys.run_once(keyed, run, look_first=_look_first(caller, key, body))
    except PinRefused as exc:  # answered, not raised: the try is counted either way
        return wallet_refused(exc, request)
    return json_response(answer.response.status, answer.response.body,
                         replayed=answer.replayed)


def mode_scoped(key: str, livemode: bool) -> str:
    """The key a shop's request is stored under: its own for a live key; for
    a test key, a name of its own (``test_`` and the key's SHA-256), so a
    shop's test and live requests never replay each other's answers."""
    if livemode:
        return key
    return "test_" + hashlib.sha256(key.encode()).hexdigest()[:59]


def replay_instead(exc: ReplayInstead, request: Request) -> Response:
    """A twin request with the same key committed first: its answer (this
    request's transaction rolls back, as after any error a view answers)."""
    return json_response(exc.response.status, exc.response.body, replayed=True)


def _look_first(caller: Caller, key: str, body: Json) -> bool | Found:
    """A PIN request's key is looked up before its PIN is compared; a user's
    token read it already (api_app.security): no query of its own."""
    if "pin" not in body:
        return False
    if caller.idempotency_key == key:  # (a user's token only reads it)
        return Found(caller.stored)
    return True


def includeme(config: Configurator) -> None:
    config.add_exception_view(replay_instead, context=ReplayInstead)
