"""A shop's settlement following its payouts (wallet.banking.auto_settlement):
WithdrawalService.settle tells :class:`SettlementProgress` of each shop payout
it settles, under the withdrawal's row lock; the settlement's row is locked
next (docs/architecture.md, "Lock order"). All paid -> paid, with the bank
references, and the ``settlement.processed`` event; one refused or returned
-> failed (its money is back in the wallet by the withdrawal's own path)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..core import codes
from ..core.codes import Event, SettlementStatus, Status, utcnow
from ..core.models import Transaction
from ..core.notifications import MerchantNotice, notify_merchant
from .banks import BankConfig
from .models import Settlement, SettlementPayout

__all__ = ["SettlementAnnouncer", "SettlementProgress", "event_data"]

#: Told of what happened for the shop's server: (shop, event type, data) --
#: wallet.merchants.events.MerchantEvents.emit, handed in by wallet.services.
SettlementAnnouncer = Callable[[int, str, dict[str, Any]], object]


class SettlementProgress:
    """A settlement following its payouts (WithdrawalService.settle calls
    :meth:`payout_settled` under the payout's row lock)."""

    def __init__(self, dbsession: Session, banks: Mapping[str, BankConfig], *,
                 announce: SettlementAnnouncer, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.banks = banks
        self.announce = announce
        self.clock = clock

    def payout_settled(self, tx: Transaction) -> None:
        settlement = self.db.scalar(
            select(Settlement).join(SettlementPayout,
                                    SettlementPayout.settlement_id == Settlement.id)
            .where(SettlementPayout.transaction_id == tx.id)
            .with_for_update(of=Settlement, key_share=True))
        if settlement is None:  # a payout of the settle page's own (no settlement record)
            return
        self.db.flush()  # (the payout's new status, for the read below)
        parts = self.db.execute(
            select(Transaction.id, Transaction.status)
            .join(SettlementPayout, SettlementPayout.transaction_id == Transaction.id)
            .where(SettlementPayout.settlement_id == settlement.id)
            .order_by(SettlementPayout.part)).all()
        now = self.clock()
        if tx.status in (Status.FAILED, Status.REVERSED):
            if settlement.status != SettlementStatus.FAILED:
                self._failed(settlement, tx, now)
        elif all(status == Status.COMPLETED for _, status in parts):
            if settlement.status != SettlementStatus.PAID:
                references = [codes.payout_reference(tx_id) for tx_id, _ in parts]
                self._paid(settlement, references, now)
        elif settlement.status == SettlementStatus.PENDING:
            settlement.status, settlement.updated_at = SettlementStatus.PROCESSING, now

    def _paid(self, settlement: Settlement, references: list[str], now: dt.datetime) -> None:
        settlement.status, settlement.settled_at = SettlementStatus.PAID, now
        settlement.bank_references, settlement.updated_at = " ".join(references)[:600], now
        self.announce(settlement.merchant_id, Event.SETTLEMENT_PROCESSED,
                      event_data(settlement))
        notify_merchant(self.db, settlement.merchant_id, MerchantNotice.SETTLEMENT_PAID,
                        f"{format_paise(settlement.amount_paise)} was paid to your bank "
                        f"(reference {', '.join(references)}).", now=now)

    def _failed(self, settlement: Settlement, tx: Transaction, now: dt.datetime) -> None:
        settlement.status, settlement.updated_at = SettlementStatus.FAILED, now
        returned = "returned" if tx.status == Status.REVERSED else "refused"
        settlement.failure_reason = (f"the bank {returned} payout "
                                     f"{codes.payout_reference(tx.id)}")[:300]
        notify_merchant(self.db, settlement.merchant_id, MerchantNotice.SETTLEMENT_FAILED,
                        f"Your settlement of {format_paise(settlement.amount_paise)}: the bank "
                        f"{returned} {format_paise(tx.amount_paise)} of it; that money is back "
                        "in your wallet.", now=now)


def event_data(settlement: Settlement) -> dict[str, Any]:
    """The ``settlement.processed`` event's data (and the API's settlement)."""
    references = settlement.bank_references.split()
    return {"id": settlement.public_id, "status": settlement.status,
            "trigger": settlement.trigger, "amount_paise": settlement.amount_paise,
            "currency": codes.CURRENCY, "bank_code": settlement.bank_code,
            "bank_reference": references[0] if references else None,
            "bank_references": references,
            "period_start": settlement.period_start.isoformat(),
            "period_end": settlement.period_end.isoformat(),
            "disputes_held_paise": settlement.disputes_held_paise,
            "kept_paise": settlement.kept_paise,
            "created_at": settlement.created_at.isoformat(),
            "settled_at": settlement.settled_at.isoformat() if settlement.settled_at else None}
