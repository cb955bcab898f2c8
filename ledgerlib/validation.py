"""Checks of caller input, made before the database is touched, and fingerprints.

Everything here raises :class:`~ledgerlib.InvalidEntry` (or a subclass, or
:class:`~ledgerlib.InvalidAmount`) for input the ledger refuses.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import EmptyEntry, InvalidEntry, UnbalancedEntry
from .money import check_paise
from .schema import ACCOUNT_KINDS
from .types import Leg

MAX_LEGS_PER_ENTRY = 32
MAX_CODE_CHARS = 128
MAX_IDEMPOTENCY_KEY_CHARS = 200
MAX_MEMO_CHARS = 500
MAX_METADATA_JSON_CHARS = 4000
MAX_PAGE_SIZE = 200

#: An entry's movement as (account code, signed amount): positive debit.
SignedLegs = list[tuple[str, int]]


def check_text(value: str, name: str, max_chars: int, *, allow_empty: bool) -> str:
    if not isinstance(value, str):
        raise InvalidEntry(f"{name} must be a string")
    if not allow_empty and not value.strip():
        raise InvalidEntry(f"{name} must not be empty")
    if len(value) > max_chars:
        raise InvalidEntry(f"{name} is longer than {max_chars} characters")
    return value


def check_memo(memo: str) -> str:
    return check_text(memo, "memo", MAX_MEMO_CHARS, allow_empty=True)


def check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A JSON-safe copy of ``metadata`` (``{}`` for None), within the size limit."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidEntry("metadata must be a mapping")
    try:
        encoded = json.dumps(dict(metadata), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidEntry(f"metadata must be JSON-serialisable: {exc}") from None
    if len(encoded) > MAX_METADATA_JSON_CHARS:
        raise InvalidEntry(f"metadata is larger than {MAX_METADATA_JSON_CHARS} characters")
    decoded: dict[str, Any] = json.loads(encoded)
    return decoded


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    return check_text(key, "idempotency_key", MAX_IDEMPOTENCY_KEY_CHARS, allow_empty=False)


def check_new_account(code: str, kind: str, currency: str) -> None:
    check_text(code, "account code", MAX_CODE_CHARS, allow_empty=False)
    if code != code.strip() or any(ch.isspace() for ch in code):
        raise InvalidEntry("account code must not contain whitespace")
    if kind not in ACCOUNT_KINDS:
        raise InvalidEntry(f"account kind must be one of {ACCOUNT_KINDS}")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()
            and currency.isupper()):
        raise InvalidEntry("currency must be a 3-letter ISO code such as INR")


def check_overdraft_limit(limit: object) -> int:
    """An overdraft limit: whole paise from 0 to MAX_AMOUNT_PAISE."""
    if limit == 0 and isinstance(limit, int) and not isinstance(limit, bool):
        return 0
    return check_paise(limit)


def check_codes(codes: set[str]) -> None:
    for code in codes:
        if not isinstance(code, str):
            raise InvalidEntry(f"account code must be a string, not {code!r}")


def validate_legs(legs: Sequence[Leg]) -> SignedLegs:
    """Check the legs' shape (no database needed); return (code, signed amount)."""
    if not isinstance(legs, Sequence) or len(legs) < 2:
        raise EmptyEntry("an entry needs at least two legs")
    if len(legs) > MAX_LEGS_PER_ENTRY:
        raise InvalidEntry(f"an entry has at most {MAX_LEGS_PER_ENTRY} legs")
    signed = []
    for leg in legs:
        if not isinstance(leg, Leg):
            raise InvalidEntry(f"not a Leg: {leg!r}")
        if leg.side not in ("debit", "credit"):
            raise InvalidEntry(f"leg side must be debit or credit, not {leg.side!r}")
        check_paise(leg.amount_paise)
        signed.append(
            (leg.account_code, leg.amount_paise if leg.side == "debit" else -leg.amount_paise)
        )
    if sum(amount for _, amount in signed) != 0:
        raise UnbalancedEntry(
            f"debits and credits differ by {sum(a for _, a in signed)} paise"
        )
    return signed


def transfer_legs(source: str, destination: str, amount_paise: int) -> SignedLegs:
    """``validate_legs([debit(source, amount), credit(destination, amount)])``,
    without building the legs first."""
    check_paise(amount_paise)
    return [(source, amount_paise), (destination, -amount_paise)]


def legs_json(signed: SignedLegs) -> str:
    """``json.dumps(signed)``, written out directly for plain codes (see
    :func:`fingerprint_of`)."""
    if all(_plain(code) for code, _ in signed):
        return "[" + ", ".join([f'["{code}", {int(amount)}]' for code, amount in signed]) + "]"
    return json.dumps(signed)


def fingerprint_of(kind: str, legs: Sequence[tuple[str, int]], extra: str = "") -> str:
    """sha256 of a movement: a reused idempotency key must carry the same one.

    The hashed text is ``json.dumps([kind, sorted(legs), extra],
    separators=(",", ":"))`` -- stored fingerprints depend on it byte for
    byte. Codes of printable ASCII without quotes or backslashes (all that
    JSON leaves unescaped) are written out directly: a batch of 1,000 items
    spent a tenth of its client time in ``json.dumps`` here.
    """
    ordered = sorted(legs)
    if all(_plain(code) for code, _ in ordered) and _plain(kind) and _plain(extra):
        written = ",".join([f'["{code}",{int(amount)}]' for code, amount in ordered])
        canonical = f'["{kind}",[{written}],"{extra}"]'
    else:
        canonical = json.dumps([kind, ordered, extra], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(text: str) -> bool:
    """True if JSON writes ``text`` as it is, between quotes."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def check_page_size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidEntry(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    return limit


def decode_cursor(cursor: str) -> int:
    """The posting id in a history cursor (the cursor is its decimal text)."""
    if not (isinstance(cursor, str) and cursor.isascii() and cursor.isdigit()
            and len(cursor) <= 19):
        raise InvalidEntry("malformed history cursor")
    return int(cursor)
