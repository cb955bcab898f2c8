"""Every refusal of the domain carries its own stable code, and the API knows
it: the API answers an error by its ``code`` (api_app/problems.py PROBLEMS),
so an error without one, or with a code PROBLEMS lacks, would reach a client
as something it is not."""
from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import pytest
from pyramid import testing

import wallet
from api_app.errors import wallet_refused
from api_app.problems import PROBLEMS
from wallet.core.errors import WalletError

#: Subclasses that mean exactly what their parent means, so carry its code.
INHERITS_PARENT_CODE = {
    # A wrong PIN is the PIN refusal; the class exists for counting tries.
    "wallet.identity.errors.WrongPin",
}
#: Codes that more than one error declares, on purpose: code -> the errors.
SHARED_CODES = {
    # "No such thing of this shop": clients need not tell which.
    "not_found": {
        "wallet.merchants.errors.RequestNotFound",
        "wallet.merchants.errors.PaymentNotFound",
        "wallet.merchants.errors.EndpointNotFound",
        "wallet.merchants.errors.DeliveryNotFound",
        "wallet.merchants.errors.MandateNotFound",
    },
}
#: What the API has always answered for these (clients depend on it).
API_ANSWERS = {
    "wallet.core.errors.WalletError": (422, "validation_error"),
    "wallet.money.errors.RecipientNotFound": (422, "recipient_not_found"),
    "wallet.money.errors.SelfTransfer": (422, "self_transfer"),
    "wallet.money.errors.InsufficientBalance": (422, "insufficient_funds"),
    "wallet.money.errors.AmountTooLarge": (422, "limit_exceeded"),
    "wallet.core.errors.DuplicateRequest": (409, "duplicate_request"),
    "wallet.core.errors.IdempotencyKeyReused": (409, "idempotency_key_reused"),
    "wallet.core.errors.BadIdempotencyKey": (400, "idempotency_key_missing"),
    "wallet.identity.errors.PinRefused": (403, "wrong_pin"),
    "wallet.identity.errors.WrongPin": (403, "wrong_pin"),
    "wallet.identity.errors.PinLocked": (423, "pin_locked"),
    "wallet.identity.errors.PinNotSet": (403, "pin_not_set"),
    "wallet.money.errors.WalletFrozen": (409, "wallet_frozen"),
    "wallet.money.errors.DepositLimit": (422, "wallet_limit"),
    "wallet.money.errors.RecipientLimit": (422, "recipient_limit"),
    "wallet.merchants.errors.OrderReferenceReused": (409, "order_reference_reused"),
    "wallet.merchants.errors.RequestNotFound": (404, "not_found"),
    "wallet.merchants.errors.RequestNotPayable": (409, "not_payable"),
    "wallet.merchants.errors.PaymentNotFound": (404, "not_found"),
    "wallet.merchants.errors.RefundTooLarge": (422, "refund_too_large"),
    # One-time codes by SMS (wallet.identity.phone_codes).
    "wallet.identity.errors.WrongCode": (422, "wrong_code"),
    "wallet.identity.errors.CodeExpired": (410, "code_expired"),
    "wallet.identity.errors.CodeDead": (410, "code_dead"),
    "wallet.identity.errors.CodesThrottled": (429, "codes_throttled"),
}


def name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def wallet_errors() -> dict[str, type[WalletError]]:
    """WalletError and every subclass defined anywhere in wallet/ (each module
    imported first, so that none is missed)."""
    for module in pkgutil.walk_packages(wallet.__path__, "wallet."):
        if not module.name.startswith("wallet.alembic"):  # (migrations run on import)
            importlib.import_module(module.name)
    found: dict[str, type[WalletError]] = {}
    todo: list[type[WalletError]] = [WalletError]
    while todo:
        kind = todo.pop()
        if kind.__module__.startswith("wallet."):
            found[name(kind)] = kind
        todo.extend(kind.__subclasses__())
    return found


ERRORS = wallet_errors()


def test_every_error_declares_its_own_code() -> None:
    missing = [error for error, kind in ERRORS.items()
               if "code" not in vars(kind) and error not in INHERITS_PARENT_CODE]
    assert missing == [], "give each its own code (or list it in INHERITS_PARENT_CODE)"
    stale = [error for error in INHERITS_PARENT_CODE
             if error not in ERRORS or "code" in vars(ERRORS[error])]
    assert stale == []


def test_each_error_lives_in_its_capabilitys_errors_module() -> None:
    """wallet.<capability>.errors, one per package: a reader finds every
    refusal of a capability (and its code) in one place."""
    elsewhere = [error for error, kind in ERRORS.items()
                 if not (kind.__module__.count(".") == 2 and kind.__module__.endswith(".errors"))]
    assert elsewhere == []


def test_every_code_is_a_problem_the_api_knows() -> None:
    unknown = {error: kind.code for error, kind in ERRORS.items() if kind.code not in PROBLEMS}
    assert unknown == {}, "add these codes to api_app/problems.py PROBLEMS"


def test_codes_are_shared_only_on_purpose() -> None:
    declared: dict[str, set[str]] = defaultdict(set)
    for error, kind in ERRORS.items():
        if "code" in vars(kind):
            declared[kind.code].add(error)
    shared = {code: errors for code, errors in declared.items() if len(errors) > 1}
    assert shared == SHARED_CODES


@pytest.mark.parametrize("error", sorted(ERRORS))
def test_the_api_answers_each_error_by_its_code(error: str) -> None:
    kind = ERRORS[error]
    reply = wallet_refused(kind("Refused."), testing.DummyRequest())
    status, title = PROBLEMS[kind.code]
    assert (reply.status_code, reply.json["code"]) == (status, kind.code)
    assert reply.json["title"] == title
    assert reply.json["type"] == f"/problems/{kind.code.replace('_', '-')}"
    if error in API_ANSWERS:
        assert (reply.status_code, reply.json["code"]) == API_ANSWERS[error]


def test_the_api_answers_unchanged_codes() -> None:
    assert set(API_ANSWERS) <= set(ERRORS)


def test_an_error_whose_code_the_api_lacks_is_a_server_error() -> None:
    class Unmapped(WalletError):
        code = "no_such_problem"

    reply = wallet_refused(Unmapped("Refused.", "amount"), testing.DummyRequest())
    assert (reply.status_code, reply.json["code"]) == (500, "server_error")
