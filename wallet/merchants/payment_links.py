"""Payment links: a shop's shareable URL (and QR) that customers pay through
the checkout of payment requests.

    active --a single-use link paid-----> paid
           --its expiry passes----------> expired    (the sweep, or a payment's attempt)
           --the shop cancels it--------> cancelled

A link holds no money rule of its own: opening it (:meth:`PaymentLinks.open`)
makes a payment request for its amount (or the customer's, within its
range), and that request is paid at the checkout by PaymentRequests.pay,
which locks the link after the request (lock order 4a), refuses a link no
longer active and counts the payment on it (wallet.merchants.link_rules). So
a single-use link is paid at most once however many customers race for it.

Test mode (wallet.merchants.modes): a link made with a test key, or in the
merchant app's test view, is a test link (``livemode`` false); the shop-side
helpers take the caller's mode and find that mode's links only. Opening a
test link makes a test payment request, paid only at the test checkout
(PaymentRequests.simulate, which counts it on the link): no money moves.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..core import codes
from ..core.codes import Event, LinkAmountMode, LinkStatus, RequestStatus, utcnow
from ..core.models import Merchant
from ..core.tasks import TaskQueue
from ..core.text import is_ordinary
from ..money.quotes import AmountInput, read_amount, refuse_if_any
from ..money.shop_payments import ShopPayments
from . import link_rules
from .errors import LinkNotFound, LinkNotPayable, LinkReferenceReused
from .events import MerchantEvents
from .models import PaymentLink, PaymentRequest
from .modes import in_mode
from .payment_requests import MAX_DESCRIPTION_CHARS, PaymentRequests

__all__ = ["LinkView", "NewLink", "PaymentLinks"]

_REFERENCE = re.compile(r"[A-Za-z0-9._:/-]{1,40}", re.ASCII)
MIN_LINK_EXPIRY_S = 60
MAX_LINK_EXPIRY_S = 365 * 24 * 3600
DEFAULT_LINK_EXPIRY_S = 30 * 24 * 3600
EXPIRE_BATCH = 200
PAYMENTS_SHOWN = 100


@dataclass(frozen=True)
class NewLink:
    """What a shop asks for. Amounts as given: rupees as typed in the
    merchant app's form, or the API's integer paise (wallet.money.quotes);
    None or "" for absent."""

    amount_mode: str
    description: str
    amount: AmountInput | None = None
    min_amount: AmountInput | None = None
    max_amount: AmountInput | None = None
    single_use: bool = False
    expires_in_s: int = DEFAULT_LINK_EXPIRY_S
    reference: str | None = None


@dataclass(frozen=True)
class LinkView:
    """What the link's page shows the customer: the link, its shop (never
    anything from the URL but the id) and its status now."""

    link: PaymentLink
    merchant: Merchant
    status: str


def _absent(value: AmountInput | None) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class PaymentLinks:
    def __init__(self, dbsession: Session, *, payment_requests: PaymentRequests,
                 shop_payments: ShopPayments, tasks: TaskQueue | None,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.payment_requests = payment_requests
        self.shop_payments = shop_payments
        self.events = MerchantEvents(dbsession, tasks=tasks, clock=clock)
        self.clock = clock

    # --------------------------------------------------------- the shop's side

    def create(self, merchant: Merchant, new: NewLink, *, livemode: bool = True) -> PaymentLink:
        """A new link of the caller's mode, every field's problem refused at
        once (nothing written)."""
        problems: dict[str, str] = {}
        mode, amount, low, high = self._amounts(new, problems)
        description = unicodedata.normalize("NFC", (new.description or "").strip())
        reference = new.reference or None
        if not description or len(description) > MAX_DESCRIPTION_CHARS \
                or not is_ordinary(description):
            problems["description"] = (f"Describe what is paid for: 1 to "
                                       f"{MAX_DESCRIPTION_CHARS} ordinary characters.")
        if reference is not None and not _REFERENCE.fullmatch(reference):
            problems["reference"] = "reference: 1 to 40 letters, digits or . _ : / -"
        if type(new.expires_in_s) is not int \
                or not MIN_LINK_EXPIRY_S <= new.expires_in_s <= MAX_LINK_EXPIRY_S:
            problems["expires_in_s"] = (f"expires_in_s: from {MIN_LINK_EXPIRY_S} seconds to "
                                        f"{MAX_LINK_EXPIRY_S // 86400} days")
        if type(new.single_use) is not bool:
            problems["single_use"] = "single_use: true or false"
        refuse_if_any(problems)
        now = self.clock()
        link = PaymentLink(
            public_id=codes.public_id("plink"), merchant_id=merchant.id, store_id=None,
            amount_mode=mode, amount_paise=amount, min_paise=low, max_paise=high,
            description=description, reference=reference, single_use=new.single_use,
            livemode=livemode, status=LinkStatus.ACTIVE, uses_count=0, paid_paise=0,
            expires_at=now + dt.timedelta(seconds=new.expires_in_s), created_at=now,
            updated_at=now)
        if reference is None:
            self.db.add(link)
            self.db.flush()
            return link
        try:  # (its unique index decides, a race too: no read first)
            with self.db.begin_nested():
                self.db.add(link)
                self.db.flush()
        except IntegrityError:
            raise LinkReferenceReused(f"Another payment link of yours has the reference "
                                      f"{reference!r}.") from None
        return link

    def _amounts(self, new: NewLink, problems: dict[str, str]
                 ) -> tuple[str, int | None, int | None, int | None]:
        """(mode, amount, minimum, maximum) in paise, each read strictly;
        their problems into ``problems``."""
        read = self._reader(problems)
        if new.amount_mode not in LinkAmountMode.ALL:
            problems["amount_mode"] = "amount_mode: fixed or open"
            return "", None, None, None
        if new.amount_mode == LinkAmountMode.FIXED:
            for name, value in (("min_amount", new.min_amount), ("max_amount", new.max_amount)):
                if not _absent(value):
                    problems[name] = ("Only a link whose amount the customer enters has a "
                                      "minimum and a maximum.")
            if _absent(new.amount):
                problems["amount"] = "Enter the amount to pay."
                return LinkAmountMode.FIXED, None, None, None
            return LinkAmountMode.FIXED, read("amount", new.amount), None, None
        if not _absent(new.amount):
            problems["amount"] = ("An open link's amount is the customer's: give a minimum "
                                  "and a maximum instead (or neither).")
        low = None if _absent(new.min_amount) else read("min_amount", new.min_amount)
        high = None if _absent(new.max_amount) else read("max_amount", new.max_amount)
        if low is not None and high is not None and low > high:
            problems["max_amount"] = "The maximum must be at least the minimum."
        return LinkAmountMode.OPEN, None, low, high

    def _reader(self, problems: dict[str, str]) -> Callable[[str, AmountInput | None],
                                                            int | None]:
        def read(name: str, value: AmountInput | None) -> int | None:
            found: dict[str, str] = {}
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                problems[name] = f"{name}: a whole number of paise"
                return None
            paise = read_amount(value, found, max_paise=self.shop_payments.max_transfer_paise,
                                check=self.shop_payments.check_payment_amount)
            if "amount" in found:
                problems[name] = found["amount"]
            return paise
        return read

    def of_merchant(self, merchant: Merchant, public_id: str, *,
                    livemode: bool = True) -> PaymentLink:
        """The shop's link of the caller's mode (another mode's: not found)."""
        link = self.db.scalar(select(PaymentLink).where(
            PaymentLink.public_id == public_id, PaymentLink.merchant_id == merchant.id,
            in_mode(PaymentLink, livemode)))
        if link is None:
            raise LinkNotFound("No such payment link.")
        return link

    def page(self, merchant: Merchant, *, status: str | None = None, cursor: int | None = None,
             limit: int = 20, livemode: bool = True) -> tuple[list[PaymentLink], int | None]:
        """The shop's links of one mode, newest first: (page, cursor of the next page)."""
        stmt = (select(PaymentLink).where(PaymentLink.merchant_id == merchant.id,
                                          in_mode(PaymentLink, livemode))
                .order_by(PaymentLink.id.desc()).limit(limit + 1))
        if status is not None:
            stmt = stmt.where(PaymentLink.status == status)
        if cursor is not None:
            stmt = stmt.where(PaymentLink.id < cursor)
        rows = list(self.db.scalars(stmt))
        return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)

    def payments(self, link: PaymentLink) -> list[PaymentRequest]:
        """Its paid requests, newest first (each a shop payment: refund it as one)."""
        return list(self.db.scalars(
            select(PaymentRequest).where(PaymentRequest.payment_link_id == link.id,
                                         PaymentRequest.status == RequestStatus.PAID)
            .order_by(PaymentRequest.id.desc()).limit(PAYMENTS_SHOWN)))

    def status_of(self, link: PaymentLink) -> str:
        return link_rules.status_of(link, self.clock())

    def cancel(self, merchant: Merchant, public_id: str, *,
               livemode: bool = True) -> PaymentLink:
        """Cancel an active link (again: the cancelled link); its requests not
        yet paid are refused at checkout from now on."""
        link = self._locked(self.of_merchant(merchant, public_id, livemode=livemode).id)
        if link.status == LinkStatus.CANCELLED:
            return link
        self._expire_if_due(link)
        if link.status != LinkStatus.ACTIVE:
            raise LinkNotPayable(f"This payment link is {link.status}: it cannot be cancelled.")
        link.status, link.updated_at = LinkStatus.CANCELLED, self.clock()
        return link

    # ------------------------------------------------------- the customer's side

    def view(self, public_id: str) -> LinkView:
        link = self.db.scalar(select(PaymentLink).where(PaymentLink.public_id == public_id))
        if link is None:
            raise LinkNotFound("No such payment link.")
        return LinkView(link, self.db.get_one(Merchant, link.merchant_id),
                        link_rules.status_of(link, self.clock()))

    def open(self, public_id: str, amount: AmountInput | None = None) -> PaymentRequest:
        """A payment request for one payment through the link, to pay at the
        checkout: its amount the link's, or ``amount`` (an open link's, read
        strictly and within its range; a fixed link's ignores it); a test
        link's is a test request, for the test checkout. Refused
        (nothing written) for a link no longer active, or a shop that takes
        no payments."""
        found = self.view(public_id)
        link = found.link
        if found.status != LinkStatus.ACTIVE:
            raise LinkNotPayable(link_rules.REFUSED[found.status])
        if not found.merchant.is_active:
            raise LinkNotPayable("This shop does not take payments now.")
        if link.amount_mode == LinkAmountMode.FIXED:
            assert link.amount_paise is not None  # (its CHECK)
            return self.payment_requests.create_for_link(link, link.amount_paise)
        problems: dict[str, str] = {}
        paise = None
        if _absent(amount):
            problems["amount"] = "Enter the amount to pay."
        else:
            paise = self._reader(problems)("amount", amount)
            if paise is not None and not self._in_range(link, paise):
                problems["amount"] = f"Enter an amount {range_text(link)}."
        refuse_if_any(problems)
        assert paise is not None  # (else refused)
        return self.payment_requests.create_for_link(link, paise)

    @staticmethod
    def _in_range(link: PaymentLink, paise: int) -> bool:
        return ((link.min_paise is None or paise >= link.min_paise)
                and (link.max_paise is None or paise <= link.max_paise))

    # ------------------------------------------------------------- expiry

    def expire_due(self, batch: int = EXPIRE_BATCH) -> int:
        """Expire active links whose time is up (a periodic task); each tells
        the shop's server. Returns how many."""
        due = list(self.db.scalars(
            select(PaymentLink.id)
            .where(PaymentLink.status == LinkStatus.ACTIVE,
                   PaymentLink.expires_at <= self.clock())
            .order_by(PaymentLink.expires_at).limit(batch)))
        return sum(self._expire_if_due(self._locked(link_id)) for link_id in due)

    def _expire_if_due(self, link: PaymentLink) -> bool:
        if link_rules.status_of(link, self.clock()) != LinkStatus.EXPIRED \
                or link.status != LinkStatus.ACTIVE:
            return False
        link.status, link.updated_at = LinkStatus.EXPIRED, self.clock()
        self.events.emit(link.merchant_id, Event.PAYMENT_LINK_EXPIRED,
                         link_rules.event_data(link), livemode=link.livemode)
        return True

    def _locked(self, link_id: int) -> PaymentLink:
        return link_rules.locked(self.db, link_id)


def range_text(link: PaymentLink) -> str:
    """"from ₹10.00 to ₹500.00", "of at least ₹10.00", "of any amount"."""
    low, high = link.min_paise, link.max_paise
    if low is not None and high is not None:
        return f"from {format_paise(low)} to {format_paise(high)}"
    if low is not None:
        return f"of at least {format_paise(low)}"
    if high is not None:
        return f"of at most {format_paise(high)}"
    return "of any amount"
