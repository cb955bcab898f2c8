"""Small helpers shared by the form views."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request

from ledgerlib import InvalidAmount, parse_amount
from wallet.core.codes import is_request_key
from wallet.core.errors import WalletError
from wallet.core.idempotency import (
    KeyedRequest,
    KeyOwner,
    ReplayInstead,
    StoredResponse,
    fingerprint,
)
from webcommon import request_services

MAX_FIELD_CHARS = 200


def new_request_key() -> str:
    """A one-time token for a money form: its idempotency key."""
    return secrets.token_urlsafe(16)


def field(request: Request, name: str, *, max_chars: int = MAX_FIELD_CHARS) -> str:
    """A form field, cut at ``max_chars`` (a bound on what we read; fields
    whose own limit is higher, like URLs, pass theirs plus one, so the domain
    refuses an overlong value rather than storing it cut short)."""
    value = request.POST.get(name, "")
    return value[:max_chars] if isinstance(value, str) else ""


def parse_rupees(text: str, errors: dict[str, str], *, max_paise: int,
                 name: str = "amount") -> int | None:
    """Paise, or None with ``errors[name]`` set to a message for the form."""
    try:
        return parse_amount(text, max_paise=max_paise)
    except InvalidAmount as exc:
        errors[name] = str(exc)
        return None


def made_once(request: Request, form: str, values: Mapping[str, Any],
              make: Callable[[], str]) -> str:
    """Run ``make`` (it makes something and returns its public id) once per
    form: the same form submitted again (a double click, a browser's retry)
    answers what the first made -- a request asked twice would prompt its
    payer twice. The form's one-time token (``request_key``) is kept as the
    API keeps an ``Idempotency-Key`` (wallet.core.idempotency), its details
    fingerprinted: the token reused for other details is refused."""
    token = field(request, "request_key")
    if not is_request_key(token):
        raise WalletError("This form is out of date. Reload the page and try again.")
    keyed = KeyedRequest(KeyOwner.user(request.identity.id), f"form-{token}",
                         fingerprint("POST", form, dict(values)))
    keys = request_services(request).idempotency_keys
    try:
        answer = keys.run_once(keyed, lambda: StoredResponse(303, {"id": make()}),
                               look_first=True)
    except ReplayInstead as twin:  # its twin committed first: this one's writes roll back
        raise HTTPSeeOther(request.route_url(form, id=twin.response.body["id"])) from None
    found: str = answer.response.body["id"]
    return found
