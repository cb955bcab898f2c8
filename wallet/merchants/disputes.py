"""Disputes of shop payments: a customer says a shop payment was not
delivered, or not authorised by them (issue #28; their complaint ticket,
wallet.care.tickets, calls :meth:`Disputes.open`).

    open --the shop accepts--> accepted (the customer refunded)
       | --the shop contests with evidence--> contested --operator--> won | lost
       +--no answer by respond_by (the workers' sweep)--> lost

What is disputed -- the payment less what the shop refunded already -- is
held in the shop's wallet at once (a ledger hold, on shard 0 after its
receiving shards are swept in: wallet.money.shop_shards), so the shop cannot
settle it away: a settlement sees only posted less held. A shop whose balance
is less has what there is held (``held_paise`` < ``disputed_paise``, 0: no
hold). The customer winning commits the hold to their wallet as a refund of
the payment (a ``refunds`` row: the payment's refunded total counts it); the
shop winning releases it. Each step locks the dispute (the payment, when
opening) as the level-4 business object before the hold (7) and the
accounts (8): docs/architecture.md, "Lock order"."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from ledgerlib import InsufficientFunds, Ledger, format_paise

from ..core import codes
from ..core.codes import DisputeReason, DisputeStatus, Event, Kind, Status, utcnow
from ..core.errors import WalletError
from ..core.models import Merchant, MerchantStore, Transaction
from ..core.notifications import MerchantNotice, Notice, notify, notify_merchant
from ..core.tasks import TaskQueue
from ..core.text import is_ordinary, one_line
from ..money import shop_shards
from .errors import (
    DisputeAlreadyOpen,
    DisputeClosed,
    DisputeNotFound,
    NotDisputable,
    NothingToDispute,
)
from .events import MerchantEvents
from .models import Dispute, PaymentRequest, Refund
from .modes import in_mode
from .reports import at_stores
from .stores import STORE_COLUMNS, StoreRef, store_of

__all__ = ["DisputePolicy", "Disputes", "MAX_EVIDENCE_CHARS", "REASON_WORDS"]

MAX_EVIDENCE_CHARS = 2000
MAX_NOTE_CHARS = 500
MAX_ID_CHARS = 40
#: How each reason reads for people.
REASON_WORDS = {DisputeReason.NOT_DELIVERED: "the shop did not deliver",
                DisputeReason.NOT_AUTHORISED: "not authorised by me"}
#: Who decided, when no operator did.
BY_SHOP, BY_DEADLINE = "shop", "deadline"


@dataclass(frozen=True)
class DisputePolicy:
    #: How long the shop has to accept or contest (``wallet.dispute_respond_s``).
    respond_s: float = 7 * 24 * 3600


#: Told of each step of a dispute after it is written (the shop contested, the
#: dispute decided): the customer's ticket follows it (wallet.care, which sits
#: above the shops' package, so it is handed in by wallet.services).
DisputeFollower = Callable[[Dispute], None]


class Disputes:
    def __init__(self, dbsession: Session, *, policy: DisputePolicy, ledger: Ledger,
                 follower: DisputeFollower, tasks: TaskQueue | None = None,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.ledger = ledger
        self.follower = follower
        self.clock = clock
        self.events = MerchantEvents(dbsession, tasks=tasks, clock=clock)

    # ------------------------------------------------------------ opening

    def open(self, user_id: int, payment_transaction_id: int, reason: str, note: str = "",
             ticket_id: int | None = None) -> Dispute:
        """The customer ``user_id`` disputes their shop payment: what is left
        of it after refunds is held in the shop's wallet and the shop is told."""
        reason = self._reason(reason)
        note = self._note(note)
        payment = self._locked_payment(user_id, payment_transaction_id)
        if self.db.scalar(select(Dispute.id).where(
                Dispute.payment_transaction_id == payment.id,
                Dispute.status.in_(DisputeStatus.UNRESOLVED))) is not None:
            raise DisputeAlreadyOpen("This payment is already disputed.")
        left = payment.amount_paise - self.refunded_paise(payment.id)
        if left <= 0:
            raise NothingToDispute("This payment was refunded in full: nothing is left to "
                                   "dispute.")
        merchant = self.db.get_one(Merchant, payment.payee_merchant_id)
        now = self.clock()
        dispute = Dispute(
            public_id=codes.public_id("dp"), merchant_id=merchant.id,
            payment_transaction_id=payment.id, customer_user_id=user_id, ticket_id=ticket_id,
            reason=reason, note=note, status=DisputeStatus.OPEN, disputed_paise=left,
            held_paise=0, hold_id=None, evidence="", decided_by="", decision_reason="",
            respond_by=now + dt.timedelta(seconds=self.policy.respond_s),
            created_at=now, updated_at=now)
        self._hold(merchant, dispute, user_id)
        self.db.add(dispute)
        self.db.flush()
        short = ("" if dispute.held_paise == dispute.disputed_paise else
                 f" (only {format_paise(dispute.held_paise)} of your balance could be held)")
        notify_merchant(self.db, merchant.id, MerchantNotice.DISPUTE_OPENED,
                        f"A customer disputed payment TXN{payment.id:08d}: "
                        f"{format_paise(left)} held{short}. Answer by "
                        f"{dispute.respond_by:%Y-%m-%d %H:%M} UTC.", now=now)
        self.events.emit(merchant.id, Event.DISPUTE_OPENED, self.event_data(dispute))
        return dispute

    def _locked_payment(self, user_id: int, payment_id: int) -> Transaction:
        payment = self.db.scalar(
            select(Transaction).options(lazyload("*"))
            .where(Transaction.id == payment_id)
            .with_for_update(of=Transaction, key_share=True)
            .execution_options(populate_existing=True))
        if (payment is None or payment.kind != Kind.PAYMENT
                or payment.status != Status.COMPLETED or payment.payer_user_id != user_id
                or payment.payee_merchant_id is None):
            raise NotDisputable("Only a completed payment of yours to a shop can be disputed.")
        return payment

    def _hold(self, merchant: Merchant, dispute: Dispute, user_id: int) -> None:
        """Hold the disputed amount in the shop's wallet, or what there is of it."""
        customer = codes.user_wallet(user_id)
        # Its receiving shards into its wallet first (holds sit on shard 0),
        # locked with the customer's wallet in the ledger's order.
        shop_shards.consolidate(self.ledger, merchant, with_accounts=[customer])
        wanted = min(dispute.disputed_paise,
                     max(0, self.ledger.balance(merchant.wallet_code).available_paise))
        for _ in range(2):  # a settlement may take some meanwhile: hold what is left then
            if wanted <= 0:
                return
            try:
                hold = self.ledger.hold(
                    merchant.wallet_code, customer, wanted,
                    idempotency_key=codes.dispute_hold_key(dispute.public_id),
                    memo=f"Dispute of payment TXN{dispute.payment_transaction_id:08d}",
                    metadata={"kind": "dispute", "dispute_id": dispute.public_id})
            except InsufficientFunds as exc:
                wanted = min(wanted, max(0, exc.available_paise))
                continue
            dispute.hold_id, dispute.held_paise = hold.id, wanted
            return

    # ------------------------------------------------------------- reading

    def refunded_paise(self, payment_id: int) -> int:
        return int(self.db.scalar(select(func.coalesce(func.sum(Refund.amount_paise), 0))
                                  .where(Refund.payment_transaction_id == payment_id)) or 0)

    def of_merchant(self, merchant: Merchant, public_id: str, *, lock: bool = False,
                    livemode: bool = True, stores: Collection[int] | None = None) -> Dispute:
        """One of the shop's disputes (another shop's is not found; disputes are
        live-only: a test caller finds none, wallet.merchants.modes); with
        ``stores``, only of a payment at one of them (a manager's)."""
        stmt = select(Dispute).where(Dispute.public_id == str(public_id)[:MAX_ID_CHARS],
                                     Dispute.merchant_id == merchant.id,
                                     in_mode(Dispute, livemode))
        if stores is not None:
            stmt = stmt.where(_paid_at(merchant, stores))
        if lock:
            stmt = stmt.with_for_update(key_share=True).execution_options(
                populate_existing=True)
        dispute = self.db.scalar(stmt)
        if dispute is None:
            raise DisputeNotFound("No such dispute of your shop.")
        return dispute

    def page(self, merchant: Merchant, *, status: str | None = None, cursor: int | None = None,
             limit: int = 20, livemode: bool = True,
             stores: Collection[int] | None = None) -> tuple[list[Dispute], int | None]:
        """The shop's disputes, newest first: (page, cursor of the next page);
        with ``stores``, only those of payments at them."""
        stmt = (select(Dispute).where(Dispute.merchant_id == merchant.id,
                                      in_mode(Dispute, livemode))
                .order_by(Dispute.id.desc()).limit(limit + 1))
        if stores is not None:
            stmt = stmt.where(_paid_at(merchant, stores))
        if status is not None:
            stmt = stmt.where(Dispute.status == status)
        if cursor is not None:
            stmt = stmt.where(Dispute.id < cursor)
        rows = list(self.db.scalars(stmt))
        return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)

    def awaiting_shop(self, merchant: Merchant) -> list[Dispute]:
        """The shop's disputes awaiting its answer, the soonest deadline first."""
        return list(self.db.scalars(select(Dispute).where(
            Dispute.merchant_id == merchant.id, Dispute.status == DisputeStatus.OPEN)
            .order_by(Dispute.respond_by, Dispute.id)))

    def contested(self, limit: int = 100) -> list[Dispute]:
        """Contested disputes awaiting an operator, oldest first (the console)."""
        return list(self.db.scalars(select(Dispute).where(
            Dispute.status == DisputeStatus.CONTESTED).order_by(Dispute.id).limit(limit)))

    def figures(self, merchant: Merchant) -> tuple[int, int]:
        """(held: what unresolved disputes hold now, lost: what disputes the
        shop lost or accepted gave back), in paise."""
        held = func.sum(Dispute.held_paise).filter(
            Dispute.status.in_(DisputeStatus.UNRESOLVED))
        lost = func.sum(Dispute.held_paise).filter(
            Dispute.status.in_((DisputeStatus.LOST, DisputeStatus.ACCEPTED)))
        row = self.db.execute(select(func.coalesce(held, 0), func.coalesce(lost, 0))
                              .where(Dispute.merchant_id == merchant.id)).one()
        return int(row[0]), int(row[1])

    # ------------------------------------------------------ the shop's answer

    def accept(self, merchant: Merchant, public_id: str) -> Dispute:
        """The shop accepts: the customer is refunded from the hold."""
        dispute = self._awaiting_shop(merchant, public_id)
        dispute.responded_at = self.clock()
        self._decide(dispute, DisputeStatus.ACCEPTED, BY_SHOP, "accepted by the shop")
        return dispute

    def contest(self, merchant: Merchant, public_id: str, evidence: str) -> Dispute:
        """The shop contests with its evidence: an operator decides."""
        evidence = self._evidence(evidence)
        dispute = self._awaiting_shop(merchant, public_id)
        now = self.clock()
        dispute.evidence, dispute.status = evidence, DisputeStatus.CONTESTED
        dispute.responded_at = dispute.updated_at = now
        self.events.emit(dispute.merchant_id, Event.DISPUTE_CONTESTED, self.event_data(dispute))
        self.follower(dispute)
        return dispute

    def _awaiting_shop(self, merchant: Merchant, public_id: str) -> Dispute:
        dispute = self.of_merchant(merchant, public_id, lock=True)
        if dispute.status != DisputeStatus.OPEN:
            raise DisputeClosed(f"This dispute is {dispute.status} already.")
        if self.clock() >= dispute.respond_by:
            raise DisputeClosed("The time to answer this dispute has passed: it is decided "
                                "for the customer.")
        return dispute

    # ------------------------------------------------------------ decisions

    def decide(self, dispute_id: int, *, for_customer: bool, decided_by: str,
               reason: str) -> Dispute:
        """An operator's decision of a contested dispute (from
        wallet.operations.operator_actions, which audits it)."""
        dispute = self.db.scalar(select(Dispute).where(Dispute.id == dispute_id)
                                 .with_for_update(key_share=True)
                                 .execution_options(populate_existing=True))
        if dispute is None:
            raise DisputeNotFound(f"No dispute {dispute_id}.")
        if dispute.status != DisputeStatus.CONTESTED:
            raise DisputeClosed(f"Dispute {dispute_id} is {dispute.status}, not contested.")
        self._decide(dispute, DisputeStatus.LOST if for_customer else DisputeStatus.WON,
                     decided_by, reason)
        return dispute

    def expire_due_one(self) -> Dispute | None:
        """Decide for the customer the first open dispute past its deadline
        (the workers' sweep: one claimed by another worker is skipped); None
        when there is none."""
        dispute = self.db.scalar(
            select(Dispute).where(Dispute.status == DisputeStatus.OPEN,
                                  Dispute.respond_by <= self.clock())
            .order_by(Dispute.respond_by, Dispute.id).limit(1)
            .with_for_update(key_share=True, skip_locked=True)
            .execution_options(populate_existing=True))
        if dispute is None:
            return None
        self._decide(dispute, DisputeStatus.LOST, BY_DEADLINE,
                     "the shop did not answer in time")
        return dispute

    def _decide(self, dispute: Dispute, status: DisputeStatus, by: str, reason: str) -> None:
        now = self.clock()
        dispute.status, dispute.decided_by = status, by[:80]
        dispute.decision_reason, dispute.decided_at, dispute.updated_at = reason[:500], now, now
        # The customer's ticket first (lock order: the dispute, its ticket, then the money).
        self.follower(dispute)
        merchant = self.db.get_one(Merchant, dispute.merchant_id)
        if status == DisputeStatus.WON:
            if dispute.hold_id is not None:
                self.ledger.release_hold(dispute.hold_id)
            notify(self.db, dispute.customer_user_id, Notice.DISPUTE_REJECTED,
                   f"Your dispute of a {format_paise(dispute.disputed_paise)} payment to "
                   f"{merchant.name} was decided for the shop.", now=now)
        else:
            self._refund(merchant, dispute, now)
        event = {DisputeStatus.ACCEPTED: Event.DISPUTE_ACCEPTED,
                 DisputeStatus.WON: Event.DISPUTE_WON}.get(status, Event.DISPUTE_LOST)
        self.events.emit(dispute.merchant_id, event, self.event_data(dispute))

    def _refund(self, merchant: Merchant, dispute: Dispute, now: dt.datetime) -> None:
        """The hold committed to the customer: a refund of the payment."""
        if dispute.hold_id is None:
            notify(self.db, dispute.customer_user_id, Notice.DISPUTE_REFUNDED,
                   f"Your dispute of a payment to {merchant.name} was decided for you; the "
                   "shop had no balance to refund from: our team will contact you.", now=now)
            return
        note = f"Dispute refund of payment TXN{dispute.payment_transaction_id:08d}"
        entry = self.ledger.commit_hold(dispute.hold_id, memo=note,
                                        metadata={"kind": Kind.REFUND,
                                                  "payment_id": dispute.payment_transaction_id})
        tx = Transaction(kind=Kind.REFUND, status=Status.COMPLETED,
                         amount_paise=dispute.held_paise, payer_merchant_id=merchant.id,
                         payee_user_id=dispute.customer_user_id, note=note,
                         idempotency_key=f"hold:{dispute.hold_id}:commit",
                         ledger_entry_id=entry.id, created_at=now, updated_at=now,
                         settled_at=now)
        self.db.add(tx)
        self.db.flush()
        self.db.add(Refund(public_id=codes.public_id("rf"), merchant_id=merchant.id,
                           payment_transaction_id=dispute.payment_transaction_id,
                           transaction_id=tx.id, amount_paise=dispute.held_paise,
                           reason=f"Dispute: {REASON_WORDS[DisputeReason(dispute.reason)]}",
                           created_at=now))
        dispute.refund_transaction_id = tx.id
        notify(self.db, dispute.customer_user_id, Notice.DISPUTE_REFUNDED,
               f"Your dispute was decided for you: {merchant.name} refunded "
               f"{format_paise(dispute.held_paise)}", tx, now=now)

    # --------------------------------------------------------------- input

    @staticmethod
    def _reason(reason: str) -> DisputeReason:
        try:
            return DisputeReason(reason)
        except ValueError:
            raise WalletError("Choose why: the shop did not deliver, or not authorised by you.",
                              "reason") from None

    @staticmethod
    def _note(note: str) -> str:
        note = one_line(note)
        if len(note) > MAX_NOTE_CHARS or not is_ordinary(note):
            raise WalletError(f"Keep the note to {MAX_NOTE_CHARS} ordinary characters.", "note")
        return note

    @staticmethod
    def _evidence(evidence: object) -> str:
        text = evidence.strip() if isinstance(evidence, str) else ""
        if not text:
            raise WalletError("Describe your evidence: what was delivered, or why the "
                              "customer authorised the payment.", "evidence")
        # (Lines are kept: evidence may be a list; other control characters are not.)
        if len(text) > MAX_EVIDENCE_CHARS or not is_ordinary(text.replace("\r\n", "\n")
                                                             .replace("\n", "")):
            raise WalletError(f"Keep the evidence to {MAX_EVIDENCE_CHARS} ordinary "
                              "characters.", "evidence")
        return text.replace("\r\n", "\n")

    def payment_request_id(self, dispute: Dispute) -> str | None:
        """The payment request the disputed payment paid (a checkout's), if any."""
        return self.payment_links(dispute)[0]

    def payment_links(self, dispute: Dispute) -> tuple[str | None, StoreRef | None]:
        """The payment request the disputed payment paid (a checkout's), if
        any, and the store it was paid at: one query."""
        row = self.db.execute(
            select(PaymentRequest.public_id, *STORE_COLUMNS)
            .select_from(Transaction)
            .outerjoin(PaymentRequest, PaymentRequest.transaction_id == Transaction.id)
            .outerjoin(MerchantStore, store_of(Transaction.payee_store_id,
                                               Transaction.payee_merchant_id))
            .where(Transaction.id == dispute.payment_transaction_id)).first()
        return (None, None) if row is None else (row[0], StoreRef.of_row(row, 1))

    def event_data(self, dispute: Dispute) -> dict[str, Any]:
        request_id, store = self.payment_links(dispute)
        return {"id": dispute.public_id, "payment_id": dispute.payment_transaction_id,
                "payment_request_id": request_id, "status": dispute.status,
                "reason": dispute.reason, "disputed_paise": dispute.disputed_paise,
                "held_paise": dispute.held_paise,
                "respond_by": dispute.respond_by.isoformat(),
                "store": None if store is None else store.as_dict()}


def _paid_at(merchant: Merchant, stores: Collection[int]) -> Any:
    """The dispute's payment was made at one of ``stores`` (a payment without
    a store: at the shop's first), as the payments list scopes a person's."""
    return select(Transaction.id).where(
        Transaction.id == Dispute.payment_transaction_id,
        at_stores(merchant, Transaction, stores)).exists()
