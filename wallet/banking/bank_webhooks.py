"""One delivery to ``POST /webhooks/<bank>``, judged by the rules every bank's
webhooks obey, in this order, whatever protocol the bank speaks:

1. the bank is in the registry;
2. the delivery comes from one of the bank's networks (``allowed_networks``);
3. the body is at most 16 KiB;
4. it is signed by one of the bank's secrets, within 5 minutes of our clock
   (wallet.banking.protocols.rules);
5. it names its event with a well-formed id;
6. its body reads as an event (the bank's protocol, strictly);
7. each event id is applied once per bank (wallet.banking.bank_events).

The bank's protocol only reads its headers and body; the webhook app only
passes them here and answers what this says (its HTTP status per verdict).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..core.codes import utcnow
from .bank_events import MAX_BODY_BYTES, BankEvents
from .banks import BankConfig
from .protocols import PROTOCOLS, protocol_for
from .protocols.base import BankProtocol, EventRefused
from .protocols.rules import SignatureError, check_signature
from .protocols.standard import StandardProtocol
from .verdicts import Verdict

_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}", re.ASCII)


@dataclass(frozen=True)
class Received:
    """What became of a delivery, and what it named itself (for its audit row)."""

    verdict: Verdict
    detail: str = ""
    transaction_id: int | None = None
    #: The event id and signature header as sent (None if absent).
    event_id: str | None = None
    signature: str | None = None


class BankWebhooks:
    """Receives bank webhooks: authenticates each, then applies its event once."""

    def __init__(self, dbsession: Session, banks: Mapping[str, BankConfig], *,
                 clock: Callable[[], dt.datetime] = utcnow, events: BankEvents):
        self.db = dbsession
        self.banks = dict(banks)
        self.clock = clock
        self.events = events

    def receive(self, bank_code: str, *, source_ip: str | None, headers: Mapping[str, str],
                body: bytes) -> Received:
        """Judge one delivery to ``bank_code``'s endpoint (``body``: read up to
        one byte past the limit) and apply it if it passes."""
        named = {name.lower(): value for name, value in headers.items()}
        bank = self.banks.get(bank_code)
        # An unknown bank's delivery is recorded as a standard one would be.
        protocol = protocol_for(bank) if bank is not None else PROTOCOLS[StandardProtocol.name]
        event_id = protocol.event_id(named)
        signature = named.get(protocol.signature_header.lower())

        def answer(verdict: Verdict, detail: str = "",
                   transaction_id: int | None = None) -> Received:
            return Received(verdict, detail, transaction_id, event_id, signature)

        if bank is None:
            return answer(Verdict.UNKNOWN_BANK, "no such bank endpoint")
        if not bank.allows(source_ip):
            return answer(Verdict.IP_NOT_ALLOWED, f"{source_ip} is not an address of {bank.name}")
        if len(body) > MAX_BODY_BYTES:
            return answer(Verdict.BODY_TOO_LARGE, f"bodies are at most {MAX_BODY_BYTES} bytes")
        try:
            self.authenticate(protocol, bank, named, body)
        except SignatureError as exc:
            return answer(exc.verdict, str(exc))
        if not event_id or not _EVENT_ID.fullmatch(event_id):
            return answer(Verdict.BAD_EVENT_ID,
                          f"{protocol.event_id_header} is missing or malformed")
        try:
            event = protocol.parse_event(body)
        except EventRefused as refused:
            return answer(refused.verdict, refused.detail)
        result = self.events.apply(
            bank_code, event_id, body, event)
        return answer(result.verdict, result.detail, result.transaction_id)

    def authenticate(self, protocol: BankProtocol, bank: BankConfig,
                     headers: Mapping[str, str], body: bytes) -> None:
        """SignatureError unless one of ``bank``'s secrets signed ``body`` recently."""
        check_signature(protocol.read_signature(headers), body, bank.webhook_secrets,
                        self.clock().timestamp(), protocol.mac)
