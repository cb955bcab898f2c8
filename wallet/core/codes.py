"""The names the wallet gives things, each built and parsed in this one module:
ledger account codes, idempotency keys, the payout reference banks know us
by, and the vocabularies of kinds and statuses (which the database's CHECK
constraints repeat, frozen in their migrations).

Kinds and statuses are plain ``str`` constants, not ``enum.Enum`` members:
they are stored in and compared with ``String`` columns, rendered in
templates and sent to drivers, all of which want the bare string.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Final
from zoneinfo import ZoneInfo

#: India's time zone: days and months of reports, statements and reconciliation.
IST_NAME: Final = "Asia/Kolkata"
IST: Final = ZoneInfo(IST_NAME)
CURRENCY: Final = "INR"


class KycLevel:
    """``users.kyc_level``: how much the wallet knows of its owner (wallet.identity.kyc),
    which sets its limits (wallet.money.limits)."""

    MINIMUM: Final = "minimum"
    FULL: Final = "full"
    ALL: Final = (MINIMUM, FULL)


class Kind:
    """``transactions.kind``: what a user-visible money movement is."""

    TRANSFER: Final = "transfer"
    DEPOSIT: Final = "deposit"
    WITHDRAWAL: Final = "withdrawal"  # a user's withdrawal or a merchant's settlement
    PAYMENT: Final = "payment"
    REFUND: Final = "refund"  # a shop gives (part of) a payment back
    ADJUSTMENT: Final = "adjustment"
    ALL: Final = (TRANSFER, DEPOSIT, WITHDRAWAL, PAYMENT, REFUND, ADJUSTMENT)


class Status:
    """``transactions.status``. Transfers and payments are ``completed`` at once;
    deposits go ``pending`` -> ``success`` | ``failed``; withdrawals go
    ``queued`` -> ``sending`` -> ``completed`` | ``failed`` | ``needs_review``,
    and ``completed`` -> ``reversed``."""

    PENDING: Final = "pending"
    SUCCESS: Final = "success"
    FAILED: Final = "failed"
    COMPLETED: Final = "completed"
    QUEUED: Final = "queued"
    SENDING: Final = "sending"
    REVERSED: Final = "reversed"
    NEEDS_REVIEW: Final = "needs_review"
    ALL: Final = (PENDING, SUCCESS, FAILED, COMPLETED, QUEUED, SENDING, REVERSED, NEEDS_REVIEW)
    #: A payout that a worker still drives.
    PAYOUT_OPEN: Final = (QUEUED, SENDING)
    #: A payout whose money is still held (not yet paid nor given back).
    PAYOUT_IN_FLIGHT: Final = (QUEUED, SENDING, NEEDS_REVIEW)
    WITHDRAWAL: Final = (QUEUED, SENDING, COMPLETED, FAILED, REVERSED, NEEDS_REVIEW)


class RequestStatus:
    """``payment_requests.status``: created -> paid | expired | cancelled."""

    CREATED: Final = "created"
    PAID: Final = "paid"
    EXPIRED: Final = "expired"
    CANCELLED: Final = "cancelled"
    ALL: Final = (CREATED, PAID, EXPIRED, CANCELLED)


class Delivery:
    """``merchant_deliveries.status``: a webhook to a shop's server."""

    PENDING: Final = "pending"
    DELIVERED: Final = "delivered"
    RETRYING: Final = "retrying"
    FAILED: Final = "failed"  # retries spent, or its endpoint disabled
    ALL: Final = (PENDING, DELIVERED, RETRYING, FAILED)


class Event:
    """Events a shop's server can subscribe to."""

    PAYMENT_REQUEST_PAID: Final = "payment_request.paid"
    PAYMENT_REQUEST_EXPIRED: Final = "payment_request.expired"
    REFUND_SUCCEEDED: Final = "refund.succeeded"
    ALL: Final = (PAYMENT_REQUEST_PAID, PAYMENT_REQUEST_EXPIRED, REFUND_SUCCEEDED)


class Attempt:
    """``payout_attempts``: the kind of a call about a payout, and its outcome."""

    SEND: Final = "send"
    STATUS: Final = "status"
    OPERATOR: Final = "operator"  # a note of an operator's action, not a bank call
    IN_PROGRESS: Final = "in_progress"
    NO_RECORD: Final = "no_record"  # the bank's status API has never heard of it
    UNKNOWN: Final = "unknown"  # timeout, 5xx, an unreadable answer


class PayoutAnswer:
    """A bank's definite word on a payout."""

    ACCEPTED: Final = "accepted"
    REJECTED: Final = "rejected"
    REVERSED: Final = "reversed"  # paid, then returned by the bank
    ALL: Final = (ACCEPTED, REJECTED, REVERSED)
    #: The payout status it leads to.
    STATUS: Final = {ACCEPTED: Status.COMPLETED, REJECTED: Status.FAILED,
                     REVERSED: Status.REVERSED}


class DepositAnswer:
    """A bank's definite word on a deposit (our names; banks' vary)."""

    SUCCESS: Final = Status.SUCCESS
    FAILED: Final = Status.FAILED
    ALL: Final = (SUCCESS, FAILED)


# ------------------------------------------------------------ ledger accounts


def user_wallet(user_id: int) -> str:
    return f"user:{user_id}:wallet"


def merchant_wallet(merchant_id: int) -> str:
    return f"merchant:{merchant_id}:wallet"


def owner_ref(kind: str, owner_id: int) -> str:
    """"user:5" / "merchant:3": a wallet's owner, as the ledger and payout lanes name it."""
    return f"{kind}:{owner_id}"


def bank_settlement(bank_code: str, shard: int = 0) -> str:
    """Our money at a bank, where deposits come from and payouts go: one of
    the bank's settlement shards (wallet.banking.settlement). Shard 0 keeps the code of
    the single account of old, so its balance needs no migration."""
    base = f"bank:{bank_code}:settlement"
    return base if shard == 0 else f"{base}:{shard}"


_SETTLEMENT = re.compile(r"bank:([a-z][a-z0-9_]{1,30}):settlement(?::([1-9][0-9]{0,3}))?",
                         re.ASCII)
#: A LIKE pattern that finds every bank's settlement shards (parse with settlement_bank).
SETTLEMENT_LIKE: Final = "bank:%:settlement%"


def settlement_bank(code: str) -> str | None:
    """The bank whose settlement shard ``code`` is, or None if it is none."""
    match = _SETTLEMENT.fullmatch(code)
    return match.group(1) if match else None


WALLET_PREFIXES: Final = ("user:", "merchant:")

# -------------------------------------------------------- idempotency keys

#: The one-time token a money form (or an API call) carries:
#: secrets.token_urlsafe(16) -> 22 characters.
REQUEST_KEY: Final = re.compile(r"[A-Za-z0-9_-]{16,64}", re.ASCII)


def is_request_key(value: object) -> bool:
    return isinstance(value, str) and REQUEST_KEY.fullmatch(value) is not None


def request_key(purpose: str, account_id: int, key: str) -> str:
    """The idempotency key of a form submission: ``transfer:5:<token>``.
    ``purpose``: transfer, payment, deposit, withdrawal or settlement."""
    return f"{purpose}:{account_id}:{key}"


def onramp_key(deposit_token: str) -> str:
    """The ledger entry that credits a deposit."""
    return f"onramp:{deposit_token}"


def refund_key(merchant_id: int, key: str) -> str:
    """A refund, by the shop's own Idempotency-Key (or form key)."""
    return f"refund:{merchant_id}:{key}"


def checkout_key(payment_request_id: int) -> str:
    """The one payment a payment request may ever get."""
    return f"checkout:{payment_request_id}"


def public_id(prefix: str) -> str:
    """An unguessable id shown outside: ``pr_…`` payment requests, ``rf_…``
    refunds, ``msg_…`` webhook messages."""

    return f"{prefix}_{secrets.token_urlsafe(16)}"


def withdrawal_hold_key(transaction_id: int) -> str:
    return f"withdrawal:{transaction_id}:hold"


def withdrawal_reversal_key(transaction_id: int) -> str:
    """The refund of a payout the bank returned."""
    return f"withdrawal:{transaction_id}:reversal"


# ------------------------------------------------------ the payout reference

_PAYOUT_REFERENCE = re.compile(r"wd_([0-9]{1,18})", re.ASCII)


def payout_reference(transaction_id: int) -> str:
    """A withdrawal's reference at the bank: the same for every retry, so the
    bank can de-duplicate too."""
    return f"wd_{transaction_id}"


def parse_payout_reference(reference: object) -> int | None:
    """The withdrawal's transaction id, or None if ``reference`` is not ours."""
    match = _PAYOUT_REFERENCE.fullmatch(reference) if isinstance(reference, str) else None
    return int(match.group(1)) if match else None


# ------------------------------------------------------------------- time


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def ist_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of ``day`` in India and of the day after."""
    start = dt.datetime.combine(day, dt.time(), IST)
    return start, start + dt.timedelta(days=1)
