"""AutoPay mandates: a shop's server asks a customer for a standing approval
to debit their wallet (at most an amount a debit, one per period, between two
dates); the customer approves it with the PIN at the user app's mandate page,
and may pause, resume or revoke it there at any time.

    created --customer approves with the PIN--> active <--pause / resume--> paused
    active | paused --customer revokes--> revoked   (for good)

Pausing or revoking is effective at once: the mandate's debits not yet
executed are cancelled under the mandate's row lock, and a debit's execution
takes that lock first and checks the mandate again (wallet.merchants.mandate_debits).
Each change tells the shop's server by webhook (wallet.merchants.events).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from ..core import codes
from ..core.codes import DebitStatus, Event, MandateStatus, utcnow
from ..core.models import Merchant, User
from ..core.tasks import TaskQueue
from ..identity.pins import PinInput, Pins
from ..money.shop_payments import ShopPayments
from .errors import MandateNotActive, MandateNotFound
from .events import MerchantEvents
from .mandate_rules import MandatePolicy, NewMandate, check_new, day_start, ist_day
from .models import Mandate, MandateDebit
from .modes import in_mode

MAX_ID_CHARS = 40


@dataclass(frozen=True)
class MandateView:
    """What the mandate page shows: the mandate, its shop (never anything from
    the URL but the id)."""

    mandate: Mandate
    merchant: Merchant


def mandate_data(mandate: Mandate) -> dict[str, object]:
    """A mandate in the shop's webhooks."""
    return {"id": mandate.public_id, "status": mandate.status,
            "max_amount_paise": mandate.max_amount_paise, "frequency": mandate.frequency,
            "start_date": ist_day(mandate.starts_at).isoformat(),
            "end_date": (ist_day(mandate.ends_at) - dt.timedelta(days=1)).isoformat(),
            "description": mandate.description}


def debit_data(debit: MandateDebit, mandate: Mandate) -> dict[str, object]:
    """A debit in the shop's webhooks."""
    return {"id": debit.public_id, "mandate_id": mandate.public_id,
            "amount_paise": debit.amount_paise, "status": debit.status,
            "execute_at": debit.execute_at.isoformat(),
            "executed_at": debit.executed_at.isoformat() if debit.executed_at else None,
            "failure_code": debit.failure_code or None}


class Mandates:
    def __init__(self, dbsession: Session, *, policy: MandatePolicy, shop_payments: ShopPayments,
                 pins: Pins, tasks: TaskQueue | None, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.shop_payments = shop_payments
        self.pins = pins
        self.events = MerchantEvents(dbsession, tasks=tasks, clock=clock)
        self.clock = clock

    # --------------------------------------------------------- the shop's side

    def create(self, merchant: Merchant, new: NewMandate, *, livemode: bool = True) -> Mandate:
        """A mandate request, for the customer to approve at ``/mandates/<id>``
        (a test one: approved at its test page, by a click)."""
        now = self.clock()
        description = check_new(new, today=ist_day(now),
                                max_paise=self.shop_payments.max_transfer_paise)
        mandate = Mandate(
            public_id=codes.public_id("md"), merchant_id=merchant.id, customer_user_id=None,
            description=description, max_amount_paise=new.max_amount_paise,
            frequency=new.frequency, starts_at=day_start(new.start_date),
            ends_at=day_start(new.end_date + dt.timedelta(days=1)),
            status=MandateStatus.CREATED, created_at=now, updated_at=now, livemode=livemode)
        self.db.add(mandate)
        self.db.flush()
        return mandate

    def of_merchant(self, merchant: Merchant, public_id: str, *, lock: bool = False,
                    livemode: bool = True) -> Mandate:
        """One of the shop's mandates of the caller's mode (another shop's, or
        the other mode's, is not found)."""
        if lock:
            return self._locked(public_id, merchant_id=merchant.id, livemode=livemode)
        return self._found(select(Mandate).where(Mandate.public_id == public_id,
                                                 Mandate.merchant_id == merchant.id,
                                                 in_mode(Mandate, livemode)))

    def page(self, merchant: Merchant, *, status: str | None = None, cursor: int | None = None,
             limit: int = 20, livemode: bool = True) -> tuple[list[Mandate], int | None]:
        """The shop's mandates of one mode, newest first: (page, cursor of the
        next page)."""
        stmt = (select(Mandate).where(Mandate.merchant_id == merchant.id,
                                      in_mode(Mandate, livemode))
                .order_by(Mandate.id.desc()).limit(limit + 1))
        if status is not None:
            stmt = stmt.where(Mandate.status == status)
        if cursor is not None:
            stmt = stmt.where(Mandate.id < cursor)
        rows = list(self.db.scalars(stmt))
        return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)

    # ------------------------------------------------------- the customer's side

    def for_approval(self, public_id: str) -> MandateView:
        mandate = self._found(select(Mandate).where(Mandate.public_id == public_id[:MAX_ID_CHARS]))
        return MandateView(mandate, self.db.get_one(Merchant, mandate.merchant_id))

    def approve(self, customer: User, public_id: str, *, pin: PinInput) -> Mandate:
        """The customer's approval with their PIN (its try counted); a second
        approval by the same customer returns the mandate, anyone else's is refused.
        A test mandate is not found here (its test page approves it)."""
        mandate = self._locked(public_id, livemode=True)
        if mandate.status != MandateStatus.CREATED:
            if mandate.customer_user_id == customer.id:
                return mandate  # a double click, a retry: approved once
            raise MandateNotActive(f"This mandate is {self._word(mandate)}: it cannot be "
                                   "approved.")
        if mandate.ends_at <= self.clock():
            raise MandateNotActive("This mandate's end date has passed: ask the shop for a "
                                   "new one.")
        merchant = self.db.get_one(Merchant, mandate.merchant_id)
        if not merchant.is_active:
            raise MandateNotActive("This shop does not take payments now.")
        self.pins.approve(customer, pin)
        now = self.clock()
        mandate.customer_user_id, mandate.status = customer.id, MandateStatus.ACTIVE
        mandate.approved_at = mandate.updated_at = now
        self.events.emit(merchant.id, Event.MANDATE_APPROVED, mandate_data(mandate))
        return mandate

    def of_customer(self, customer: User) -> list[tuple[Mandate, Merchant]]:
        """The customer's approved mandates, newest first, with their shops."""
        return [(m, s) for m, s in self.db.execute(
            select(Mandate, Merchant).join(Merchant, Merchant.id == Mandate.merchant_id)
            .where(Mandate.customer_user_id == customer.id).order_by(Mandate.id.desc())
            .limit(100))]

    def customer_page(self, customer: User, *, status: str | None = None,
                      cursor: int | None = None, limit: int = 20
                      ) -> tuple[list[MandateView], int | None]:
        """The customer's approved mandates with their shops, newest first:
        (page, cursor of the next page) -- the phone app's list."""
        stmt = (select(Mandate, Merchant).join(Merchant, Merchant.id == Mandate.merchant_id)
                .where(Mandate.customer_user_id == customer.id)
                .order_by(Mandate.id.desc()).limit(limit + 1))
        if status is not None:
            stmt = stmt.where(Mandate.status == status)
        if cursor is not None:
            stmt = stmt.where(Mandate.id < cursor)
        rows = [MandateView(m, s) for m, s in self.db.execute(stmt)]
        return rows[:limit], (rows[limit - 1].mandate.id if len(rows) > limit else None)

    def seen_by(self, customer: User, public_id: str) -> MandateView:
        """A mandate as a customer may see it: their own, or a request still
        waiting for approval (its link is the shop's request, as on the
        mandate page); one another customer approved is not found."""
        view = self.for_approval(public_id)
        if view.mandate.customer_user_id not in (None, customer.id):
            raise MandateNotFound("No such mandate.")
        return view

    def of_customer_one(self, customer: User, public_id: str, *, lock: bool = False) -> Mandate:
        if lock:
            return self._locked(public_id, customer_user_id=customer.id)
        return self._found(select(Mandate).where(Mandate.public_id == public_id[:MAX_ID_CHARS],
                                                 Mandate.customer_user_id == customer.id))

    def pause(self, customer: User, public_id: str) -> Mandate:
        """No debit until resumed: those not yet executed are cancelled now."""
        return self._change(customer, public_id, MandateStatus.PAUSED)

    def resume(self, customer: User, public_id: str) -> Mandate:
        return self._change(customer, public_id, MandateStatus.ACTIVE)

    def revoke(self, customer: User, public_id: str) -> Mandate:
        """For good: its debits not yet executed are cancelled now."""
        return self._change(customer, public_id, MandateStatus.REVOKED)

    def _change(self, customer: User, public_id: str, to: MandateStatus) -> Mandate:
        mandate = self._locked(public_id, customer_user_id=customer.id)
        if mandate.status == to:
            return mandate  # (a double click)
        allowed = {MandateStatus.PAUSED: (MandateStatus.ACTIVE,),
                   MandateStatus.ACTIVE: (MandateStatus.PAUSED,),
                   MandateStatus.REVOKED: (MandateStatus.ACTIVE, MandateStatus.PAUSED)}[to]
        if mandate.status not in allowed:
            raise MandateNotActive(f"This mandate is {self._word(mandate)}.")
        now = self.clock()
        mandate.status, mandate.updated_at = to, now
        if to == MandateStatus.REVOKED:
            mandate.revoked_at = now
        if to != MandateStatus.ACTIVE:
            self._cancel_open_debits(mandate, to)
        event = {MandateStatus.PAUSED: Event.MANDATE_PAUSED,
                 MandateStatus.ACTIVE: Event.MANDATE_RESUMED,
                 MandateStatus.REVOKED: Event.MANDATE_REVOKED}[to]
        self.events.emit(mandate.merchant_id, event, mandate_data(mandate),
                         livemode=mandate.livemode)
        return mandate

    def _cancel_open_debits(self, mandate: Mandate, why: MandateStatus) -> None:
        """Every debit not yet executed, cancelled (under the mandate's lock,
        which an execution takes first); each tells the shop."""
        code = f"mandate_{why}"
        reason = f"The customer {why} the mandate before the debit was executed."
        now = self.clock()
        cancelled = list(self.db.scalars(
            update(MandateDebit)
            .where(MandateDebit.mandate_id == mandate.id,
                   MandateDebit.status.in_(DebitStatus.OPEN))
            .values(status=DebitStatus.CANCELLED, failure_code=code, failure_reason=reason,
                    updated_at=now)
            .returning(MandateDebit).execution_options(synchronize_session=False,
                                                       populate_existing=True)))
        for debit in cancelled:
            self.events.emit(mandate.merchant_id, Event.MANDATE_DEBIT_FAILED,
                             debit_data(debit, mandate))

    # ------------------------------------------------------------ test mode

    def for_test(self, public_id: str) -> MandateView:
        """What the test mandate page shows (a live mandate is not found)."""
        view = self.for_approval(public_id)
        if view.mandate.livemode:
            raise MandateNotFound("No such test mandate.")
        return view

    def simulate(self, public_id: str, *, approve: bool) -> Mandate:
        """The test page's answer for a test mandate: approve it (no customer,
        no PIN), or revoke it once approved; each tells the shop with
        ``livemode: false``. A live mandate is not found here."""
        mandate = self._locked(public_id, livemode=False)
        now = self.clock()
        if approve:
            if mandate.status != MandateStatus.CREATED:
                return mandate  # (approved already: a double click)
            mandate.status, mandate.approved_at, mandate.updated_at = (
                MandateStatus.ACTIVE, now, now)
            event = Event.MANDATE_APPROVED
        else:
            if mandate.status == MandateStatus.REVOKED:
                return mandate
            if mandate.status == MandateStatus.CREATED:
                raise MandateNotActive("This test mandate is not approved yet.")
            mandate.status, mandate.revoked_at, mandate.updated_at = (
                MandateStatus.REVOKED, now, now)
            event = Event.MANDATE_REVOKED
        self.events.emit(mandate.merchant_id, event, mandate_data(mandate), livemode=False)
        return mandate

    @staticmethod
    def _word(mandate: Mandate) -> str:
        return {MandateStatus.CREATED: "not approved yet", MandateStatus.ACTIVE: "active",
                MandateStatus.PAUSED: "paused", MandateStatus.REVOKED: "revoked"}.get(
            MandateStatus(mandate.status), mandate.status)

    def _found(self, stmt: Select[Mandate]) -> Mandate:
        mandate = self.db.scalar(stmt)
        if mandate is None:
            raise MandateNotFound("No such mandate.")
        return mandate

    def _locked(self, public_id: str, *, merchant_id: int | None = None,
                customer_user_id: int | None = None, livemode: bool | None = None) -> Mandate:
        """The mandate's row, locked (level 4 of the lock order: before its
        debits, the PIN and the ledger)."""
        stmt = select(Mandate).where(Mandate.public_id == public_id[:MAX_ID_CHARS])
        if livemode is not None:
            stmt = stmt.where(in_mode(Mandate, livemode))
        if merchant_id is not None:
            stmt = stmt.where(Mandate.merchant_id == merchant_id)
        if customer_user_id is not None:
            stmt = stmt.where(Mandate.customer_user_id == customer_user_id)
        # populate_existing: what the lock's last holder committed.
        return self._found(stmt.with_for_update(key_share=True)
                           .execution_options(populate_existing=True))
