"""What a bank's event means, applied once.

A bank tells us about deposits and payouts by webhook (docs/webhooks.md).
:mod:`wallet.banking.bank_webhooks` authenticates the delivery (source address,
signature, event id) and has the bank's protocol read the event; this module
claims its id so a re-delivery or a concurrent twin changes nothing, and
applies it through the one state machine it concerns (:mod:`wallet.banking.deposits`,
:mod:`wallet.banking.withdrawals`).
Every delivery, accepted or refused, is kept for audit (:func:`record_delivery`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core import codes
from ..core.codes import Settled, utcnow
from .banks import BankConfig
from .deposits import DepositService
from .models import WebhookAttempt, WebhookEvent
from .protocols.base import BankEvent, DepositEvent, PayoutEvent
from .verdicts import Verdict
from .withdrawals import WithdrawalService

MAX_BODY_BYTES = 16 * 1024


@dataclass(frozen=True)
class EventResult:
    verdict: Verdict
    detail: str = ""
    transaction_id: int | None = None


class BankEvents:
    """Applies authenticated bank events, each event id once per bank."""

    def __init__(self, dbsession: Session, banks: Mapping[str, BankConfig], *,
                 clock: Callable[[], dt.datetime] = utcnow, deposits: DepositService,
                 withdrawals: WithdrawalService):
        self.db = dbsession
        self.banks = dict(banks)
        self.clock = clock
        self.deposits = deposits
        self.withdrawals = withdrawals

    def apply(self, bank_code: str, event_id: str, body: bytes, event: BankEvent) -> EventResult:
        """Apply one delivery from ``bank_code`` (already authenticated), whose
        ``body`` its protocol read as ``event``."""
        body_sha256 = hashlib.sha256(body).hexdigest()
        # Claim the event id first: a concurrent twin delivery waits here and
        # then takes the duplicate path instead of processing the event again.
        savepoint = self.db.begin_nested()
        record = WebhookEvent(bank_code=bank_code, event_id=event_id, body_sha256=body_sha256,
                              outcome=Verdict.PROCESSING, processed_at=self.clock())
        try:
            self.db.add(record)
            self.db.flush()
        except IntegrityError:
            savepoint.rollback()
            return self._seen_before(bank_code, event_id, body_sha256)
        result = self._settle(bank_code, event_id, event)
        if result.verdict == Verdict.UNKNOWN_REFERENCE:
            savepoint.rollback()  # not processed: a later delivery is judged afresh
        else:
            record.outcome, record.transaction_id = result.verdict, result.transaction_id
            savepoint.commit()
        return result

    def _seen_before(self, bank_code: str, event_id: str, body_sha256: str) -> EventResult:
        seen = self.db.scalar(select(WebhookEvent).where(
            WebhookEvent.bank_code == bank_code, WebhookEvent.event_id == event_id))
        if seen is None or seen.body_sha256 != body_sha256:
            return EventResult(Verdict.REPLAYED_EVENT_ID,
                               "this event id was used for another event")
        return EventResult(Verdict.DUPLICATE_EVENT, f"already processed: {seen.outcome}",
                           seen.transaction_id)

    def _settle(self, bank_code: str, event_id: str, event: BankEvent) -> EventResult:
        source = f"webhook {event_id}"
        if isinstance(event, PayoutEvent):
            answer = self.withdrawals.settle_by_reference(
                event.reference, event.outcome, bank_code=bank_code,
                amount_paise=event.amount_paise, currency=event.currency, source=source,
                reason=event.reason[:200])
            tx_id = (codes.parse_payout_reference(event.reference)
                     if answer != Settled.UNKNOWN_REFERENCE else None)
            return EventResult(Verdict.of(answer), "", tx_id)
        if not isinstance(event, DepositEvent):
            raise TypeError(f"an event about neither a deposit nor a payout: {event!r}")
        result = self.deposits.settle(
            event.reference, event.outcome, bank_code=bank_code,
            amount_paise=event.amount_paise, currency=event.currency, source=source,
            reason=event.reason)
        tx_id = result.transaction.id if result.transaction is not None else None
        return EventResult(Verdict.of(result.verdict), result.detail, tx_id)


def storable(text: str | None, limit: int) -> str | None:
    """Text as the audit table can keep it: PostgreSQL text refuses NUL
    characters, which a stranger's request may well contain."""
    return None if text is None else text[:limit].replace("\x00", "\ufffd")


def record_delivery(db: Session, *, bank_code: str, event_id: str | None, source_ip: str,
                    signature_header: str | None, body: bytes, http_status: int, verdict: str,
                    detail: str, transaction_id: int | None,
                    clock: Callable[[], dt.datetime] = utcnow) -> None:
    """Keep one webhook delivery, accepted or refused, for audit."""
    db.add(WebhookAttempt(
        bank_code=storable(bank_code, 32),
        event_id=storable(event_id or None, 100),
        source_ip=storable(source_ip, 64),
        signature_header=storable(signature_header or None, 600),
        body=storable(body[:MAX_BODY_BYTES].decode("utf-8", "replace"), MAX_BODY_BYTES),
        http_status=http_status,
        verdict=verdict,
        detail=storable(detail, 300),
        transaction_id=transaction_id,
        received_at=clock(),
    ))
