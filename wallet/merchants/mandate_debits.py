"""Debits within an AutoPay mandate (wallet.merchants.mandates):

    scheduled --execute_at passes, the mandate active, within the PIN cap--> succeeded | failed
              --above the PIN cap--> awaiting_pin --customer's PIN--> succeeded
                                                  --customer declines--> cancelled
    scheduled | awaiting_pin --the mandate paused or revoked--> cancelled

A shop presents a debit (at most the mandate's maximum, inside its dates, one
per period: the unique (mandate_id, period_key)); the customer is notified at
once and the debit executes no earlier than the notice period later
(``MandatePolicy.notice_s``), by a worker (``run_due``). Execution takes the
mandate's row and the debit's (``FOR NO KEY UPDATE SKIP LOCKED``: a worker
never waits, and skips what another holds), checks the mandate again, and
pays through ShopPayments.pay_shop (freeze, ledger, the shop's shards) under
the ledger key ``mandate_debit:<debit id>``: money moves once, whoever runs it.
Within the cap the customer's standing approval (Pins.standing) is the PIN;
above it, the customer's PIN each time.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..core import codes
from ..core.codes import DebitStatus, Event, MandateStatus, utcnow
from ..core.errors import WalletError
from ..core.models import Merchant, User
from ..core.notifications import Notice, notify
from ..core.tasks import TaskQueue
from ..identity.pins import PinInput, Pins
from ..money.freeze import ensure_can_spend
from ..money.shop_payments import ShopPayments
from .errors import (
    DebitNotOpen,
    MandateAmountExceeded,
    MandateNotActive,
    MandateNotFound,
    MandateOutsideDates,
    MandatePeriodUsed,
)
from .events import MerchantEvents
from .mandate_quotes import DebitQuote
from .mandate_rules import MandatePolicy, period_key
from .mandates import MAX_ID_CHARS, debit_data
from .models import Mandate, MandateDebit
from .modes import in_mode

DUE_BATCH = 100
#: The amount a test debit fails with (any other succeeds): ₹400.02, after
#: the card number test suites use for a decline.
TEST_FAILING_PAISE = 400_02


class MandateDebits:
    def __init__(self, dbsession: Session, *, policy: MandatePolicy, shop_payments: ShopPayments,
                 pins: Pins, tasks: TaskQueue | None, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.shop_payments = shop_payments
        self.pins = pins
        self.events = MerchantEvents(dbsession, tasks=tasks, clock=clock)
        self.clock = clock

    # --------------------------------------------------------- the shop's side

    def present(self, merchant: Merchant, mandate_public_id: str, amount_paise: int, *,
                livemode: bool = True) -> MandateDebit:
        """A debit, scheduled after the notice period; the customer notified now.
        Refused (nothing written) above the maximum, outside the dates, in a
        period that has one, for a mandate not active or a frozen wallet.
        Within a test mandate (``livemode`` False): the same checks, then
        simulated at once (:meth:`_simulate`)."""
        if isinstance(amount_paise, bool) or not isinstance(amount_paise, int) \
                or amount_paise <= 0:
            raise WalletError("amount_paise must be a whole number of paise above zero.",
                              "amount_paise")
        mandate = self._locked_mandate(mandate_public_id, merchant_id=merchant.id,
                                       livemode=livemode)
        if mandate.status != MandateStatus.ACTIVE or (
                mandate.livemode and mandate.customer_user_id is None):
            raise MandateNotActive(f"This mandate is {mandate.status}: no debit can be "
                                   "presented.")
        if amount_paise > mandate.max_amount_paise:
            raise MandateAmountExceeded(
                f"{format_paise(amount_paise)} is more than this mandate's maximum of "
                f"{format_paise(mandate.max_amount_paise)} a debit.")
        now = self.clock()
        execute_at = now + dt.timedelta(seconds=self.policy.notice_s)
        if execute_at < mandate.starts_at:
            raise MandateOutsideDates("This mandate has not started: a debit presented now "
                                      "would execute before its start date.")
        if execute_at >= mandate.ends_at:
            raise MandateOutsideDates("This mandate has ended (or ends before a debit "
                                      "presented now could execute).")
        customer = (None if mandate.customer_user_id is None
                    else self.db.get_one(User, mandate.customer_user_id))
        if customer is not None:
            ensure_can_spend(customer)
        public_id = codes.public_id("mdd")
        period = period_key(mandate.frequency, execute_at, public_id)
        if self.db.scalar(select(MandateDebit.id).where(MandateDebit.mandate_id == mandate.id,
                                                        MandateDebit.period_key == period)):
            raise MandatePeriodUsed(f"This mandate has a debit in the period {period} already: "
                                    "at most one per period.")
        debit = MandateDebit(public_id=public_id, mandate_id=mandate.id, merchant_id=merchant.id,
                             amount_paise=amount_paise, period_key=period,
                             status=DebitStatus.SCHEDULED, execute_at=execute_at,
                             created_at=now, updated_at=now, failure_code="",
                             failure_reason="")
        self.db.add(debit)
        try:
            self.db.flush()
        except IntegrityError:  # (the mandate's lock makes this a backstop only)
            raise MandatePeriodUsed("This period of the mandate has a debit already.") from None
        if customer is None:  # (a test mandate: it has no customer)
            return self._simulate(debit, mandate)
        notify(self.db, customer.id, Notice.MANDATE_DEBIT_NOTICE,
               f"AutoPay: {merchant.name} will debit {format_paise(amount_paise)} "
               f"on {_ist(execute_at)} ({mandate.description}). Pause or revoke the mandate "
               "before then to stop it.", now=now)
        return debit

    def of_merchant(self, merchant: Merchant, public_id: str) -> MandateDebit:
        debit = self.db.scalar(select(MandateDebit).where(
            MandateDebit.public_id == public_id[:MAX_ID_CHARS],
            MandateDebit.merchant_id == merchant.id))
        if debit is None:
            raise MandateNotFound("No such debit.")
        return debit

    def of_mandate(self, mandate: Mandate, limit: int = 100) -> list[MandateDebit]:
        """A mandate's debits, newest first."""
        return list(self.db.scalars(select(MandateDebit).where(
            MandateDebit.mandate_id == mandate.id).order_by(MandateDebit.id.desc()).limit(limit)))

    # ------------------------------------------------------------- the workers

    def due(self, limit: int = DUE_BATCH) -> list[int]:
        """Ids of scheduled debits whose time has come (read only)."""
        return list(self.db.scalars(
            select(MandateDebit.id).where(MandateDebit.status == DebitStatus.SCHEDULED,
                                          MandateDebit.execute_at <= self.clock())
            .order_by(MandateDebit.execute_at, MandateDebit.id).limit(limit)))

    def execute(self, debit_id: int) -> MandateDebit | None:
        """Execute one due debit, in the caller's transaction: None when another
        holds it (skipped, never waited for) or it is not due or open."""
        found = self.db.execute(
            select(MandateDebit, Mandate).join(Mandate, Mandate.id == MandateDebit.mandate_id)
            .where(MandateDebit.id == debit_id, MandateDebit.status == DebitStatus.SCHEDULED,
                   MandateDebit.execute_at <= self.clock())
            .with_for_update(key_share=True, skip_locked=True)
            .execution_options(populate_existing=True)).first()
        if found is None:
            return None
        debit, mandate = found
        if mandate.status != MandateStatus.ACTIVE or mandate.customer_user_id is None:
            self._end(debit, mandate, DebitStatus.CANCELLED, f"mandate_{mandate.status}",
                      f"The mandate is {mandate.status}.")
            return debit
        customer = self.db.get_one(User, mandate.customer_user_id)
        if debit.amount_paise > self.policy.pin_cap_paise:
            debit.status, debit.updated_at = DebitStatus.AWAITING_PIN, self.clock()
            notify(self.db, customer.id, Notice.MANDATE_DEBIT_NEEDS_PIN,
                   f"AutoPay: approve {format_paise(debit.amount_paise)} to "
                   f"{self._shop(mandate).name} with your PIN (above "
                   f"{format_paise(self.policy.pin_cap_paise)}, it needs it each time).",
                   now=self.clock())
            return debit
        return self._pay(debit, mandate, customer, self.pins.standing(customer))

    # ------------------------------------------------------- the customer's side

    def awaiting(self, customer: User) -> list[tuple[MandateDebit, Mandate, Merchant]]:
        """The customer's debits waiting for their PIN."""
        return [(d, m, s) for d, m, s in self.db.execute(
            select(MandateDebit, Mandate, Merchant)
            .join(Mandate, Mandate.id == MandateDebit.mandate_id)
            .join(Merchant, Merchant.id == Mandate.merchant_id)
            .where(Mandate.customer_user_id == customer.id,
                   MandateDebit.status == DebitStatus.AWAITING_PIN)
            .order_by(MandateDebit.id))]

    def of_customer(self, customer: User, public_id: str) -> tuple[MandateDebit, Mandate]:
        found = self.db.execute(
            select(MandateDebit, Mandate).join(Mandate, Mandate.id == MandateDebit.mandate_id)
            .where(MandateDebit.public_id == public_id[:MAX_ID_CHARS],
                   Mandate.customer_user_id == customer.id)).first()
        if found is None:
            raise MandateNotFound("No such debit.")
        return found

    def open_of(self, mandates: Sequence[Mandate]) -> dict[int, list[MandateDebit]]:
        """The open debits (scheduled, awaiting the PIN) of these mandates, by
        mandate id, soonest first: one query for a page of mandates."""
        found: dict[int, list[MandateDebit]] = {mandate.id: [] for mandate in mandates}
        if found:
            for debit in self.db.scalars(
                    select(MandateDebit).where(MandateDebit.mandate_id.in_(list(found)),
                                               MandateDebit.status.in_(DebitStatus.OPEN))
                    .order_by(MandateDebit.execute_at, MandateDebit.id)):
                found[debit.mandate_id].append(debit)
        return found

    def quote(self, customer: User, public_id: str) -> DebitQuote:
        """The confirm step of a debit waiting for the customer's PIN."""
        debit, mandate = self.of_customer(customer, public_id)
        return DebitQuote(self, customer, debit, mandate, self._shop(mandate))

    def approve(self, customer: User, public_id: str, *, pin: PinInput,
                found: tuple[MandateDebit, Mandate] | None = None) -> MandateDebit:
        """A debit above the PIN cap, paid with the customer's PIN (its try
        counted); the same again returns it, paid once. ``found``: the pair
        its quote read for this customer (not read again; locked all the same)."""
        debit, mandate = self._locked_pair(customer, public_id, found)
        if debit.status == DebitStatus.SUCCEEDED:
            return debit
        if debit.status != DebitStatus.AWAITING_PIN:
            raise DebitNotOpen(f"This debit is {debit.status}: nothing to approve.")
        if mandate.status != MandateStatus.ACTIVE:
            raise MandateNotActive(f"This mandate is {mandate.status}.")
        return self._pay(debit, mandate, customer, pin, raise_refusal=True)

    def decline(self, customer: User, public_id: str) -> MandateDebit:
        debit, mandate = self._locked_pair(customer, public_id)
        if debit.status == DebitStatus.CANCELLED and debit.failure_code == "declined":
            return debit  # (declined already: a retry, a double click)
        if debit.status != DebitStatus.AWAITING_PIN:
            raise DebitNotOpen(f"This debit is {debit.status}: nothing to decline.")
        self._end(debit, mandate, DebitStatus.CANCELLED, "declined",
                  "The customer declined the debit.")
        return debit

    # ----------------------------------------------------------------- inside

    def _pay(self, debit: MandateDebit, mandate: Mandate, customer: User, pin: PinInput,
             *, raise_refusal: bool = False) -> MandateDebit:
        """Pay the debit from the customer's wallet: succeeded, or failed with
        the refusal's code (or, for the customer's own PIN, the refusal raised:
        the debit stays awaiting it)."""
        merchant = self._shop(mandate)
        try:
            if not merchant.is_active:
                raise MandateNotActive("The shop does not take payments now.")
            tx = self.shop_payments.pay_shop(
                customer, merchant, debit.amount_paise, codes.mandate_debit_key(debit.id),
                f"AutoPay: {mandate.description}"[:140], pin=pin)
        except WalletError as exc:  # (a refused payment wrote nothing)
            if raise_refusal:
                raise
            self._end(debit, mandate, DebitStatus.FAILED, exc.code, str(exc))
            notify(self.db, customer.id, Notice.MANDATE_DEBIT_FAILED,
                   f"AutoPay: {format_paise(debit.amount_paise)} to {merchant.name} failed: "
                   f"{exc}", now=self.clock())
            return debit
        now = self.clock()
        debit.status, debit.executed_at, debit.updated_at = DebitStatus.SUCCEEDED, now, now
        debit.transaction_id = tx.id
        notify(self.db, customer.id, Notice.MANDATE_DEBIT_PAID,
               f"AutoPay: {format_paise(debit.amount_paise)} paid to {merchant.name} "
               f"({mandate.description}).", tx, now=now)
        self.events.emit(mandate.merchant_id, Event.MANDATE_DEBIT_SUCCEEDED,
                         debit_data(debit, mandate))
        return debit

    def _end(self, debit: MandateDebit, mandate: Mandate, status: DebitStatus, code: str,
             reason: str) -> None:
        debit.status, debit.updated_at = status, self.clock()
        debit.failure_code, debit.failure_reason = code[:40], reason[:300]
        self.events.emit(mandate.merchant_id, Event.MANDATE_DEBIT_FAILED,
                         debit_data(debit, mandate), livemode=mandate.livemode)

    def _simulate(self, debit: MandateDebit, mandate: Mandate) -> MandateDebit:
        """A test debit, at once and without money: succeeded, or failed for
        the one amount that fails (:data:`TEST_FAILING_PAISE`); the shop is
        told with ``livemode: false``. It never waits for a worker: a test
        debit is never due (no ``scheduled`` row of a test mandate is left)."""
        now = self.clock()
        if debit.amount_paise == TEST_FAILING_PAISE:
            debit.updated_at = now
            self._end(debit, mandate, DebitStatus.FAILED, "test_failure",
                      "A simulated failure (test mode: this amount always fails).")
            return debit
        debit.status, debit.executed_at, debit.updated_at = DebitStatus.SUCCEEDED, now, now
        self.events.emit(mandate.merchant_id, Event.MANDATE_DEBIT_SUCCEEDED,
                         debit_data(debit, mandate), livemode=False)
        return debit

    def _shop(self, mandate: Mandate) -> Merchant:
        return self.db.get_one(Merchant, mandate.merchant_id)

    def _locked_mandate(self, public_id: str, *, merchant_id: int,
                        livemode: bool) -> Mandate:
        mandate = self.db.scalar(
            select(Mandate).where(Mandate.public_id == public_id[:MAX_ID_CHARS],
                                  Mandate.merchant_id == merchant_id,
                                  in_mode(Mandate, livemode))
            .with_for_update(key_share=True).execution_options(populate_existing=True))
        if mandate is None:
            raise MandateNotFound("No such mandate.")
        return mandate

    def _locked_pair(self, customer: User, public_id: str,
                     found: tuple[MandateDebit, Mandate] | None = None
                     ) -> tuple[MandateDebit, Mandate]:
        """The debit's mandate, then the debit, locked (the lock order's level 4:
        mandate before debit, as a pause or a revocation takes them)."""
        debit, mandate = found or self.of_customer(customer, public_id)
        locked = self.db.scalar(select(Mandate).where(Mandate.id == mandate.id)
                                .with_for_update(key_share=True)
                                .execution_options(populate_existing=True))
        locked_debit = self.db.scalar(select(MandateDebit).where(MandateDebit.id == debit.id)
                                      .with_for_update(key_share=True)
                                      .execution_options(populate_existing=True))
        assert locked is not None and locked_debit is not None  # (found just before)
        return locked_debit, locked


def _ist(moment: dt.datetime) -> str:
    return moment.astimezone(codes.IST).strftime("%d %b %Y, %H:%M IST")
