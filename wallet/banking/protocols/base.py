"""The seam between the wallet and a bank: what every bank protocol provides,
and the domain's own words for what a bank tells us.

A protocol (``banks.<code>.protocol``) knows one bank's dialect: how its
webhooks are signed (:meth:`BankProtocol.read_signature`,
:meth:`BankProtocol.mac`), what its events look like
(:meth:`BankProtocol.parse_event`), how its payout, status and statement API
is called (:meth:`BankProtocol.client`) and what its answers mean
(:meth:`BankProtocol.payout_word` ...). Everything past the seam -- the
window a signature is fresh in, the source networks, each event id once, the
state machines -- is the wallet's, the same for every bank.
"""
from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, TypedDict

from ...core.codes import DepositAnswer, PayoutAnswer
from ...core.text import is_ordinary, one_line
from ..verdicts import Verdict
from .wire import BankRecord

if TYPE_CHECKING:  # (the registry of banks names its protocol: no import at run time)
    from ...core.observe import Observer
    from ..banks import BankConfig

#: A delivery's headers, names in lower case.
Headers = Mapping[str, str]
#: The longest account holder's name we keep (user_bank_accounts.holder_name).
MAX_HOLDER_NAME_CHARS = 80


# ------------------------------------------------------------------ events


@dataclass(frozen=True)
class BankEvent:
    """Something a bank tells us by webhook, in the wallet's words: the
    reference we gave it, the amount in paise and currency it reports (checked
    against ours before anything is applied), its reason in its own words."""

    reference: str
    amount_paise: int
    currency: str
    reason: str = ""
    #: The definite answer it gives (wallet.core.codes.DepositAnswer or PayoutAnswer).
    outcome: ClassVar[DepositAnswer | PayoutAnswer]


class DepositEvent(BankEvent):
    """About money a customer sent us (a deposit), by our deposit token."""

    outcome: ClassVar[DepositAnswer]


class PayoutEvent(BankEvent):
    """About money we sent (a payout), by its reference ``wd_<id>``."""

    outcome: ClassVar[PayoutAnswer]


class DepositSucceeded(DepositEvent):
    outcome = DepositAnswer.SUCCESS


class DepositFailed(DepositEvent):
    outcome = DepositAnswer.FAILED


class PayoutPaid(PayoutEvent):
    outcome = PayoutAnswer.ACCEPTED


class PayoutFailed(PayoutEvent):
    outcome = PayoutAnswer.REJECTED


class PayoutReturned(PayoutEvent):
    """Paid, then returned by the beneficiary's bank (a closed account)."""

    outcome = PayoutAnswer.REVERSED


class EventRefused(Exception):
    """A delivery's body the protocol cannot read: nothing is applied."""

    MALFORMED_JSON = Verdict.MALFORMED_JSON
    MISSING_FIELDS = Verdict.MISSING_FIELDS

    def __init__(self, verdict: Verdict, detail: str):
        super().__init__(detail)
        self.verdict = verdict
        self.detail = detail


# ----------------------------------------------------------- API answers


@dataclass(frozen=True)
class PayoutWord:
    """A bank's answer about a payout (its payout or status API)."""

    #: None: nothing definite (still processing, or an answer we cannot read).
    outcome: PayoutAnswer | None
    #: The bank's own status word, for people (the console, the audit log).
    said: str
    reason: str = ""


@dataclass(frozen=True)
class DepositStatus:
    """A bank's answer about a deposit (its status API)."""

    #: None: still open at the bank.
    outcome: DepositAnswer | None
    said: str
    #: As reported; None when the bank gave none we can read (a deposit
    #: settled with one is flagged for a human, as a disagreeing amount is).
    amount_paise: int | None = None
    currency: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class StatementLine:
    """One movement of our account on a bank's statement."""

    #: payment (a deposit), payout, or payout_reversal.
    kind: str
    reference: str
    amount_paise: int

    KINDS: ClassVar[tuple[str, ...]] = ("payment", "payout", "payout_reversal")


class PayoutRequest(TypedDict):
    """What a bank's payout API is asked for, in the wallet's words (each
    protocol's client writes it in its bank's)."""

    reference: str
    amount_paise: int
    currency: str
    account_number: str
    ifsc: str


class BankApi(Protocol):
    """A bank's API as the wallet calls it, whatever its dialect: each call
    returns the bank's record as it sent it (kept in the attempt log) or None
    when the bank has none, and raises wallet.banking.bank_client.BankUnavailable when
    the outcome is unknown (timeout, 5xx, an unreadable reply)."""

    def send_payout(self, payload: PayoutRequest, /) -> BankRecord: ...

    def payout_status(self, reference: str, /) -> BankRecord | None: ...

    def payment_status(self, reference: str, /) -> BankRecord | None: ...

    def statement(self, day: dt.date, /) -> list[BankRecord]: ...

    def account_holder(self, account_number: str, ifsc: str, /) -> BankRecord | None: ...


# ------------------------------------------------------------ signatures


@dataclass(frozen=True)
class SignedParts:
    """What a delivery's headers say of its signature: when it was signed
    (unix seconds, as sent) and the signatures offered (any one of which, made
    with any of the bank's secrets, will do: secrets rotate)."""

    timestamp: str
    signatures: tuple[str, ...]
    event_id: str | None


# -------------------------------------------------------------- protocol


class BankProtocol(ABC):
    """One bank dialect. Stateless: one instance serves every bank speaking it."""

    #: Its name in the settings (``banks.<code>.protocol``).
    name: ClassVar[str]
    #: The header that carries the signature (kept with each delivery for audit).
    signature_header: ClassVar[str]
    #: The header that carries the bank's id of the event delivered.
    event_id_header: ClassVar[str]
    #: The field of an account-holder answer that names the holder.
    holder_name_field: ClassVar[str]

    # -- webhooks

    def event_id(self, headers: Headers) -> str | None:
        """The bank's id of the event delivered, as the headers name it."""
        return headers.get(self.event_id_header.lower())

    @abstractmethod
    def read_signature(self, headers: Headers) -> SignedParts:
        """The signature's parts, or rules.SignatureError if missing or malformed."""

    @abstractmethod
    def mac(self, secret: str, parts: SignedParts, body: bytes) -> str:
        """The signature ``secret`` makes for this delivery, as the header writes it."""

    @abstractmethod
    def parse_event(self, body: bytes) -> BankEvent:
        """The event a (verified) body reports, or :class:`EventRefused`."""

    # -- the API

    @abstractmethod
    def client(self, bank: BankConfig, timeout_s: float, observer: Observer) -> BankApi:
        """A client of ``bank``'s API in this dialect, its calls reported to ``observer``."""

    @abstractmethod
    def payout_word(self, record: BankRecord) -> PayoutWord:
        """What a payout or payout status answer (never None) means."""

    @abstractmethod
    def deposit_status(self, record: BankRecord) -> DepositStatus:
        """What a deposit status answer (never None) means."""

    @abstractmethod
    def statement_lines(self, entries: list[BankRecord]) -> list[StatementLine]:
        """A statement's entries, read strictly; BankUnavailable if one cannot be."""

    def holder_name(self, record: BankRecord) -> str | None:
        """The account holder's name in an account-holder answer (never None),
        read strictly: one line of 1 to 80 ordinary characters; None if not."""
        found = record.get(self.holder_name_field) if isinstance(record, dict) else None
        name = one_line(found) if isinstance(found, str) else ""
        return name if 0 < len(name) <= MAX_HOLDER_NAME_CHARS and is_ordinary(name) else None
