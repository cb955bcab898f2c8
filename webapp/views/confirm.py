"""The confirm step of every money page (send, pay a shop, withdraw, a shop's
checkout): one flow over the domain's quotes (wallet.money.quotes).

A money form is read into a quote (the amount parsed and checked once, by the
domain); the form comes back with every field's problem, or goes on to its
confirm page (what moves, to whom by the name in our records, and the PIN),
whose submit confirms the quote with the PIN. The PIN is checked by the
domain's money operation itself (wallet.identity.pins): a refused PIN is shown
on the confirm page by a normal (committed) answer, so the wrong try counts.
The form's ``request_key`` rides along unchanged, so confirming twice moves
money once.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import WalletError
from wallet.identity.errors import PinRefused
from wallet.identity.pins import Pins
from wallet.money.quotes import ConfirmText, Quote
from webcommon import request_services

from .forms import field
from .stepup import pin_setup

CONFIRM_TEMPLATE = "confirm.jinja2"
Result = TypeVar("Result")
#: A money page's form again: its problems by field, and the answer's status.
FormAgain = Callable[[dict[str, str], int], dict[str, Any]]
#: Sends one without a PIN to set it first (a response), else None.
PinGate = Callable[[Request], Response | None]


def confirm_page(request: Request, *, question: str, details: list[str] | tuple[str, ...],
                 action: str, values: Mapping[str, str], button: str,
                 errors: dict[str, str] | None = None, status: int = 200,
                 pins: Pins | None = None,
                 pin_label: str = "Wallet PIN") -> dict[str, Any]:
    """The confirm page: ``question`` ("Send ₹500.00 to Ravi Kumar (+91 ••••• 43210)?"),
    the PIN (``pins``: the user's wallet PIN unless told, as the merchant app
    tells its shop PIN), and the form's values carried along unchanged
    (``request_key`` too, so confirming twice moves money once)."""
    request.override_renderer = CONFIRM_TEMPLATE
    request.response.status = status
    pins = pins or request_services(request).pins
    return {"question": question, "details": list(details), "action": action,
            "values": dict(values), "button": button, "errors": errors or {},
            "pin_label": pin_label, "locked_until": pins.locked_until(request.identity)}


def confirming(request: Request) -> bool:
    """True on the confirm step's submit (it carries the PIN field)."""
    return "pin" in request.POST and "edit" not in request.POST


def confirm(request: Request, quote: Quote[Result], request_key: str) -> Result | WalletError:
    """The PIN's submit: ``quote`` confirmed with the form's PIN. A refusal is
    returned, for the page to answer (not raised: the request commits, so a
    wrong PIN's try counts)."""
    try:
        return quote.confirm(field(request, "pin"), request_key)
    except WalletError as exc:
        return exc


@dataclass(frozen=True)
class ConfirmStep:
    """A money page's confirm step: where it posts, its button, the form's
    values it carries (``request_key`` among them); whose PIN it asks for
    (the user's wallet PIN unless told: the merchant app's shop PIN), and
    ``gate``, what sends one without that PIN to set it first (None: the
    page gated already, as the merchant app's does before reading its form)."""

    action: str
    button: str
    values: Mapping[str, str]
    pins: Pins | None = None
    pin_label: str = "Wallet PIN"
    gate: PinGate | None = pin_setup

    def page(self, request: Request, text: ConfirmText,
             errors: dict[str, str] | None = None) -> dict[str, Any]:
        return confirm_page(request, question=text.question, details=text.details,
                            action=self.action, values=self.values, button=self.button,
                            errors=errors, status=400 if errors else 200, pins=self.pins,
                            pin_label=self.pin_label)


def confirm_step(request: Request, step: ConfirmStep, quote_of: Callable[[], Quote[Result]],
                 *, form: FormAgain, done: Callable[[Result], Response],
                 errors: dict[str, str] | None = None) -> dict[str, Any] | Response:
    """A money form's POST: the form again (with every field's problem:
    ``errors``, the page's own, and the quote's), or its confirm page, or --
    on the confirm page's submit -- the money moved (``done``). Users
    without a PIN are sent to set one first (``step.gate``)."""
    errors = dict(errors or {})
    quote: Quote[Result] | None = None
    try:
        quote = quote_of()
    except WalletError as exc:
        errors.update(exc.errors)
    if errors or quote is None or "edit" in request.POST:
        return form(errors, 400 if errors else 200)
    if step.gate is not None and (gate := step.gate(request)) is not None:
        return gate
    request_key = step.values["request_key"]
    try:
        if not confirming(request):
            return step.page(request, quote.preview(request_key))
    except WalletError as exc:
        return form(exc.errors, 400)
    outcome = confirm(request, quote, request_key)
    if not isinstance(outcome, WalletError):
        return done(outcome)
    if not isinstance(outcome, PinRefused):
        return form(outcome.errors, 400)
    try:  # the confirm page again, with the PIN's refusal
        return step.page(request, quote.preview(request_key), {"pin": str(outcome)})
    except WalletError as exc:
        return form(exc.errors, 400)
