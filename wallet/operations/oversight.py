"""What the operators' console reads: the state of the whole wallet at a
glance, payouts and deposits that need a look, a user's or a shop's wallet.
Read-only: operators act through wallet.operations.operator_actions."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib.tables import accounts

from ..banking.models import PayoutAttempt, WebhookAttempt, Withdrawal
from ..core.codes import Delivery, Kind, Status, utcnow
from ..core.models import Merchant, Transaction, User
from ..core.phone import InvalidPhone, normalize_phone
from ..identity.models import KycRecord
from ..merchants.models import MerchantDelivery
from ..money import shop_shards
from . import ledger_checks
from .models import LedgerCheck, ReconciliationRun

LIST_LIMIT = 200


@dataclass(frozen=True)
class MoneyTotal:
    kind: str  # user wallets | shop wallets | bank settlement
    accounts: int
    posted_paise: int
    held_paise: int


@dataclass(frozen=True)
class Overview:
    money: tuple[MoneyTotal, ...]
    #: (kind, status) -> count, for work still open.
    queues: dict[tuple[str, str], int]
    #: Webhook deliveries to shops' servers still to be made, by status.
    shop_webhooks: dict[str, int]
    oldest_queued: Transaction | None
    oldest_sending: Transaction | None
    stuck_deposits: int
    flagged: int
    #: Banks' webhook calls refused in the last hour, by verdict.
    webhook_rejections: dict[str, int]
    #: The latest recorded ledger verification, and the latest clean one's end.
    last_check: LedgerCheck | None
    last_clean_at: dt.datetime | None
    at: dt.datetime


@dataclass(frozen=True)
class Found:
    """A user or a shop, with its balance and latest movements."""

    user: User | None
    merchant: Merchant | None
    balance: ledgerlib.Balance
    movements: tuple[Transaction, ...]
    #: A full-KYC user's verified details (the PAN only masked: ``pan_masked``).
    kyc: KycRecord | None = None


class Oversight:
    def __init__(self, db: Session, *, clock: Callable[[], dt.datetime] = utcnow,
                 deposit_stuck_after_s: float) -> None:
        self.db = db
        self.clock = clock
        self.stuck_after = dt.timedelta(seconds=deposit_stuck_after_s)

    def overview(self) -> Overview:
        now = self.clock()
        return Overview(
            money=self._money(), queues=self._queues(), shop_webhooks=self._shop_webhooks(),
            oldest_queued=self._oldest(Status.QUEUED), oldest_sending=self._oldest(Status.SENDING),
            stuck_deposits=self.db.scalar(select(func.count()).select_from(Transaction).where(
                *self._stuck_deposit())) or 0,
            flagged=self.db.scalar(select(func.count()).select_from(Transaction).where(
                Transaction.flag_reason.is_not(None))) or 0,
            webhook_rejections=self._rejections(now - dt.timedelta(hours=1)),
            last_check=next(iter(ledger_checks.recent_checks(self.db, limit=1)), None),
            last_clean_at=ledger_checks.last_success_at(self.db), at=now)

    def _money(self) -> tuple[MoneyTotal, ...]:
        kind = case((accounts.c.code.like("user:%"), "user wallets"),
                    (accounts.c.code.like("merchant:%"), "shop wallets"),
                    (accounts.c.code.like("bank:%"), "bank settlement"), else_="other")
        rows = self.db.execute(select(kind, func.count(), func.sum(accounts.c.posted_paise),
                                      func.sum(accounts.c.held_paise)).group_by(kind)
                               .order_by(kind))
        return tuple(MoneyTotal(str(k), int(n), int(posted or 0), int(held or 0))
                     for k, n, posted, held in rows)

    def _queues(self) -> dict[tuple[str, str], int]:
        open_states = (Status.PENDING, Status.QUEUED, Status.SENDING, Status.NEEDS_REVIEW)
        rows = self.db.execute(select(Transaction.kind, Transaction.status, func.count())
                               .where(Transaction.status.in_(open_states))
                               .group_by(Transaction.kind, Transaction.status))
        found: dict[tuple[str, str], int] = {
            (Kind.WITHDRAWAL, s): 0 for s in Status.PAYOUT_IN_FLIGHT}
        found[(Kind.DEPOSIT, Status.PENDING)] = 0
        found.update({(k, s): int(n) for k, s, n in rows})
        return found

    def _shop_webhooks(self) -> dict[str, int]:
        rows = self.db.execute(select(MerchantDelivery.status, func.count())
                               .where(MerchantDelivery.status.in_(
                                   (Delivery.PENDING, Delivery.RETRYING)))
                               .group_by(MerchantDelivery.status))
        return {str(s): int(n) for s, n in rows}

    def _oldest(self, status: str) -> Transaction | None:
        return self.db.scalar(select(Transaction).where(
            Transaction.kind == Kind.WITHDRAWAL, Transaction.status == status)
            .order_by(Transaction.created_at, Transaction.id).limit(1))

    def _rejections(self, since: dt.datetime) -> dict[str, int]:
        rows = self.db.execute(select(WebhookAttempt.verdict, func.count())
                               .where(WebhookAttempt.received_at >= since,
                                      WebhookAttempt.http_status >= 400)
                               .group_by(WebhookAttempt.verdict)
                               .order_by(func.count().desc()))
        return {str(v): int(n) for v, n in rows}

    def _stuck_deposit(self) -> tuple[ColumnElement[bool], ...]:
        return (Transaction.kind == Kind.DEPOSIT, Transaction.status == Status.PENDING,
                Transaction.created_at < self.clock() - self.stuck_after)

    # -- lists

    def payouts(self, status: str | None) -> list[Transaction]:
        stmt = (select(Transaction).where(Transaction.kind == Kind.WITHDRAWAL)
                .order_by(Transaction.id.desc()).limit(LIST_LIMIT))
        if status:
            stmt = stmt.where(Transaction.status == status)
        return list(self.db.scalars(stmt).unique())

    def payout(self, transaction_id: int) -> tuple[Transaction, Withdrawal,
                                                   list[PayoutAttempt]] | None:
        tx = self.db.get(Transaction, transaction_id)
        wd = self.db.get(Withdrawal, transaction_id)
        if tx is None or wd is None or tx.kind != Kind.WITHDRAWAL:
            return None
        attempts = list(self.db.scalars(select(PayoutAttempt).where(
            PayoutAttempt.transaction_id == tx.id).order_by(PayoutAttempt.id)))
        return tx, wd, attempts

    def deposits_needing_a_look(self) -> list[Transaction]:
        """Deposits pending too long, and any flagged for a human."""
        stuck = self._stuck_deposit()
        return list(self.db.scalars(
            select(Transaction).where(
                Transaction.kind == Kind.DEPOSIT,
                or_(Transaction.flag_reason.is_not(None), and_(*stuck[1:])))
            .order_by(Transaction.created_at).limit(LIST_LIMIT)).unique())

    def reconciliation_runs(self, bank_code: str | None = None) -> list[ReconciliationRun]:
        stmt = select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(LIST_LIMIT)
        if bank_code:
            stmt = stmt.where(ReconciliationRun.bank_code == bank_code)
        return list(self.db.scalars(stmt))

    def reconciliation_run(self, run_id: int) -> tuple[ReconciliationRun,
                                                       list[Sequence[str]]] | None:
        run = self.db.get(ReconciliationRun, run_id)
        return None if run is None else (run, json.loads(run.mismatches))

    # -- a user or a shop

    def find(self, query: str) -> Found | None:
        """By phone number (a user) or payment handle (a shop)."""
        query = (query or "").strip()[:40]
        user = merchant = None
        try:
            user = self.db.scalar(select(User).where(User.phone == normalize_phone(query)))
        except InvalidPhone:
            merchant = self.db.scalar(select(Merchant).where(
                Merchant.handle == query.lower().lstrip("@")))
        owner: User | Merchant | None = user or merchant
        if owner is None:
            return None
        balance = shop_shards.balance_of(ledgerlib.Ledger(self.db), owner)
        if user is not None:
            party = or_(Transaction.payer_user_id == user.id, Transaction.payee_user_id == user.id)
        else:
            assert merchant is not None
            party = or_(Transaction.payer_merchant_id == merchant.id,
                        Transaction.payee_merchant_id == merchant.id)
        movements = tuple(self.db.scalars(select(Transaction).where(party)
                                          .order_by(Transaction.id.desc()).limit(25)).unique())
        kyc = self.db.get(KycRecord, user.id) if user is not None else None
        return Found(user, merchant, balance, movements, kyc)
