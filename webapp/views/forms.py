"""Small helpers shared by the form views."""
from __future__ import annotations

import secrets

from pyramid.request import Request

from ledgerlib import InvalidAmount, parse_amount

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
