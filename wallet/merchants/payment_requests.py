"""Payment requests: a shop's server asks a customer for an amount, the
customer pays at our checkout.

    created --customer pays at checkout--> paid
            --its expiry passes----------> expired   (the sweeper, or a late checkout)
            --the shop cancels it--------> cancelled

Paid at most once, whatever the clicks, retries or races: paying locks the
request's row, and the payment's ledger key is the request's own
(``checkout:<id>``). The payment is an ordinary shop payment
(:meth:`ShopPayments.pay_shop`, the one rule). A paid or expired request tells
the shop's server by webhook (wallet.merchants.events).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core import codes
from ..core.codes import Event, RequestStatus, utcnow
from ..core.errors import WalletError
from ..core.models import Merchant, MerchantStore, Transaction, User
from ..core.tasks import TaskQueue
from ..core.text import is_ordinary
from ..identity.pins import PinInput
from ..money.errors import STORE_CLOSED, StoreClosed
from ..money.shop_payments import ShopPayments
from . import link_rules
from .checkout_quotes import CheckoutQuote
from .errors import OrderReferenceReused, RequestNotFound, RequestNotPayable
from .events import MerchantEvents
from .models import PaymentLink, PaymentRequest
from .modes import in_mode
from .stores import STORE_COLUMNS, StoreRef, Stores, store_of

_ORDER_REFERENCE = re.compile(r"[A-Za-z0-9._:/#-]{1,64}", re.ASCII)
MAX_DESCRIPTION_CHARS = 140
MIN_EXPIRY_S = 60
MAX_EXPIRY_S = 7 * 24 * 3600
DEFAULT_EXPIRY_S = 30 * 60
EXPIRE_BATCH = 200
#: How long a customer who opened a payment link has to pay at checkout.
LINK_REQUEST_S = 30 * 60


@dataclass(frozen=True)
class Checkout:
    request: PaymentRequest
    merchant: Merchant
    #: The request's status now (see :meth:`PaymentRequests.checkout`).
    status: str
    #: The store it is paid at (wallet.merchants.stores).
    store: MerchantStore | None = None


@dataclass(frozen=True)
class NewRequest:
    order_reference: str
    amount_paise: int
    description: str = ""
    expires_in_s: int = DEFAULT_EXPIRY_S
    return_url: str | None = None
    #: The store it is paid at, by id or by handle (neither: the shop's first).
    store_id: int | None = None
    store_handle: str | None = None

    def sha256(self) -> str:
        content: list[object] = [self.order_reference, self.amount_paise, self.description,
                                 self.expires_in_s, self.return_url]
        if self.store_id is not None or self.store_handle:  # (as before stores, if none)
            content += [self.store_id, self.store_handle]
        return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def origin_of(url: str) -> str | None:
    """``https://shop.example:8443`` of a URL, or None if it has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def allowed_origins(merchant: Merchant) -> list[str]:
    return [origin for origin in (merchant.return_origins or "").split() if origin]


class PaymentRequests:
    def __init__(self, dbsession: Session, *, shop_payments: ShopPayments, stores: Stores,
                 tasks: TaskQueue | None, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.shop_payments = shop_payments
        self.stores = stores
        self.events = MerchantEvents(dbsession, tasks=tasks, clock=clock)
        self.clock = clock

    # --------------------------------------------------------- the shop's side

    def create(self, merchant: Merchant, new: NewRequest, *,
               livemode: bool = True) -> tuple[PaymentRequest, bool]:
        """A new payment request, or the one already made for this order
        reference with the same content; (request, created now?). Order
        references are unique per shop across both modes: one made in the
        other mode is refused as reused, never returned."""
        self._check(merchant, new)
        existing = self._by_order_reference(merchant, new, livemode)
        if existing is not None:
            return existing, False
        store = self.stores.for_payment(merchant, store_id=new.store_id,
                                        handle=new.store_handle)
        now = self.clock()
        request = PaymentRequest(
            public_id=codes.public_id("pr"), merchant_id=merchant.id, store_id=store.id,
            livemode=livemode,
            order_reference=new.order_reference, description=new.description,
            amount_paise=new.amount_paise, status=RequestStatus.CREATED,
            return_url=new.return_url, request_sha256=new.sha256(),
            expires_at=now + dt.timedelta(seconds=new.expires_in_s), created_at=now,
            updated_at=now)
        try:
            with self.db.begin_nested():  # the same order, sent twice at once: one wins
                self.db.add(request)
                self.db.flush()
        except IntegrityError:
            existing = self._by_order_reference(merchant, new, livemode)
            if existing is None:
                raise
            return existing, False
        return request, True

    def create_for_link(self, link: PaymentLink, amount_paise: int) -> PaymentRequest:
        """A request for one payment through ``link`` (checked open, the amount
        checked, by wallet.merchants.payment_links): paid at the same
        checkout, by the same rule. Its order reference is the link's own
        and a random part (unique in the shop); it can be paid until the link
        expires, for at most LINK_REQUEST_S. A test link's request is a test
        request (its mode is the link's): the test checkout pays it."""
        now = self.clock()
        request = PaymentRequest(
            public_id=codes.public_id("pr"), merchant_id=link.merchant_id,
            livemode=link.livemode,
            order_reference=f"{link.reference or link.public_id}#{secrets.token_urlsafe(8)}",
            description=link.description, amount_paise=amount_paise,
            status=RequestStatus.CREATED, return_url=None, request_sha256="",
            expires_at=min(link.expires_at, now + dt.timedelta(seconds=LINK_REQUEST_S)),
            created_at=now, updated_at=now, payment_link_id=link.id)
        self.db.add(request)
        self.db.flush()
        return request

    def _check(self, merchant: Merchant, new: NewRequest) -> None:
        if not _ORDER_REFERENCE.fullmatch(new.order_reference or ""):
            raise WalletError("order_reference: 1 to 64 letters, digits or . _ : / # -",
                              "order_reference")
        self.shop_payments.check_payment_amount(new.amount_paise)
        description = unicodedata.normalize("NFC", new.description or "")
        if len(description) > MAX_DESCRIPTION_CHARS or not is_ordinary(description):
            raise WalletError(f"description: up to {MAX_DESCRIPTION_CHARS} ordinary characters",
                              "description")
        if not MIN_EXPIRY_S <= new.expires_in_s <= MAX_EXPIRY_S:
            raise WalletError(f"expires_in_s: from {MIN_EXPIRY_S} to {MAX_EXPIRY_S} seconds",
                              "expires_in_s")
        if new.return_url is not None:
            origin = origin_of(new.return_url)
            if origin is None or origin not in allowed_origins(merchant):
                raise WalletError(
                    "return_url must be on one of your shop's return origins (set them in "
                    "the merchant app): " + (" ".join(allowed_origins(merchant)) or "none yet"),
                    "return_url")

    def _by_order_reference(self, merchant: Merchant, new: NewRequest,
                            livemode: bool) -> PaymentRequest | None:
        existing = self.db.scalar(select(PaymentRequest).where(
            PaymentRequest.merchant_id == merchant.id,
            PaymentRequest.order_reference == new.order_reference))
        if existing is not None and (existing.request_sha256 != new.sha256()
                                     or existing.livemode != livemode):
            raise OrderReferenceReused(
                f"order_reference {new.order_reference!r} was used for a payment request "
                "with other details")
        return existing

    def of_merchant(self, merchant: Merchant, public_id: str, *,
                    livemode: bool = True) -> PaymentRequest:
        """One of the shop's requests of the caller's mode (another shop's, or
        the other mode's, is not found)."""
        request = self.db.scalar(select(PaymentRequest).where(
            PaymentRequest.public_id == public_id, PaymentRequest.merchant_id == merchant.id,
            in_mode(PaymentRequest, livemode)))
        if request is None:
            raise RequestNotFound("No such payment request.")
        return request

    def page(self, merchant: Merchant, *, status: str | None = None, cursor: int | None = None,
             limit: int = 20, livemode: bool = True) -> tuple[list[PaymentRequest], int | None]:
        """The shop's requests of one mode, newest first: (page, cursor of the
        next page). Those its payment links made are listed with their link instead."""
        stmt = (select(PaymentRequest).where(PaymentRequest.merchant_id == merchant.id,
                                             PaymentRequest.payment_link_id.is_(None),
                                             in_mode(PaymentRequest, livemode))
                .order_by(PaymentRequest.id.desc()).limit(limit + 1))
        if status is not None:
            stmt = stmt.where(PaymentRequest.status == status)
        if cursor is not None:
            stmt = stmt.where(PaymentRequest.id < cursor)
        rows = list(self.db.scalars(stmt))
        return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)

    def cancel(self, merchant: Merchant, public_id: str, *,
               livemode: bool = True) -> PaymentRequest:
        request = self._locked(public_id, merchant_id=merchant.id, livemode=livemode)
        if request.status == RequestStatus.CANCELLED:
            return request
        self._expire_if_due(request)
        if request.status != RequestStatus.CREATED:
            raise RequestNotPayable(f"This payment request is {request.status}: it cannot be "
                                    "cancelled.")
        request.status, request.updated_at = RequestStatus.CANCELLED, self.clock()
        return request

    # ------------------------------------------------------- the customer's side

    def for_checkout(self, public_id: str) -> PaymentRequest:
        request = self.db.scalar(select(PaymentRequest).where(
            PaymentRequest.public_id == public_id))
        if request is None:
            raise RequestNotFound("No such payment request.")
        return request

    def checkout(self, public_id: str) -> Checkout:
        """What the checkout page shows: the request, its shop (never anything
        from the URL but the id), its store and its status now, in one query.
        Reads only: a created request whose time is up reads as expired
        (paying it marks it so)."""
        row = self.db.execute(
            select(PaymentRequest, Merchant, MerchantStore)
            .join(Merchant, Merchant.id == PaymentRequest.merchant_id)
            .outerjoin(MerchantStore, store_of(PaymentRequest.store_id,
                                               PaymentRequest.merchant_id))
            .where(PaymentRequest.public_id == public_id)).first()
        if row is None:
            raise RequestNotFound("No such payment request.")
        request, merchant, store = row
        status = request.status
        if status == RequestStatus.CREATED and request.expires_at <= self.clock():
            status = RequestStatus.EXPIRED
        return Checkout(request, merchant, status, store)

    def quote(self, payer: User, public_id: str) -> CheckoutQuote:
        """The checkout's confirm step (wallet.money.quotes): what
        :meth:`checkout` reads, to be paid by ``payer``."""
        return CheckoutQuote(self, payer, self.checkout(public_id))

    def pay(self, payer: User, public_id: str, *, pin: PinInput) -> PaymentRequest:
        """Pay the request from ``payer``'s wallet (approved by their PIN), at
        most once: a second confirmation by the same payer returns the paid request, anyone else's
        is refused; nothing moves for an expired or cancelled one. A test
        request is not found here: only its test checkout pays it."""
        request = self._locked(public_id, livemode=True)
        if request.status == RequestStatus.PAID:
            if request.payer_user_id == payer.id:
                return request  # a double click, a retry: paid once
            raise RequestNotPayable("This payment request has already been paid.")
        link = None  # a payment link's request: its link locked (4a) and open, or refused
        if request.payment_link_id is not None:
            link = link_rules.locked(self.db, request.payment_link_id)
            link_rules.refuse_unless_active(link, self.clock())
        if self._expire_if_due(request) or request.status != RequestStatus.CREATED:
            raise RequestNotPayable(f"This payment request is {request.status}: "
                                    "nothing was paid.")
        # (both read by the checkout's quote already: the session has them)
        merchant = self.db.get_one(Merchant, request.merchant_id)
        if not merchant.is_active:
            raise RequestNotPayable("This shop does not take payments now.")
        store = (self.db.get(MerchantStore, request.store_id) if request.store_id is not None
                 else None)
        if store is not None and store.closed_at is not None:
            raise StoreClosed(STORE_CLOSED, "store")
        tx = self.shop_payments.pay_shop(payer, merchant, request.amount_paise,
                                  codes.checkout_key(request.id),
                                  request.description or f"Order {request.order_reference}",
                                  pin=pin, store_id=request.store_id)
        now = self.clock()
        request.status, request.paid_at, request.updated_at = RequestStatus.PAID, now, now
        request.payer_user_id, request.transaction_id = payer.id, tx.id
        if link is None:
            self.events.emit(merchant.id, Event.PAYMENT_REQUEST_PAID, self.event_data(
                request, None if store is None else StoreRef.of(store)))
        else:  # the shop made the link, not this request: it hears of the link's payment
            link_rules.count_payment(link, request, now)
            self.events.emit(merchant.id, Event.PAYMENT_LINK_PAID,
                             link_rules.event_data(link, request))
        return request

    # ------------------------------------------------------------- expiry

    def expire_due(self, batch: int = EXPIRE_BATCH) -> int:
        """Expire requests whose time is up (a periodic task); each tells the
        shop's server. Returns how many."""
        due = list(self.db.scalars(
            select(PaymentRequest.public_id)
            .where(PaymentRequest.status == RequestStatus.CREATED,
                   PaymentRequest.expires_at <= self.clock())
            .order_by(PaymentRequest.expires_at).limit(batch)))
        return sum(self._expire_if_due(self._locked(public_id)) for public_id in due)

    # ------------------------------------------------------------ test mode

    def test_checkout(self, public_id: str) -> Checkout:
        """What the test checkout shows: :meth:`checkout` of a test request (a
        live one is not found: it is paid at the real checkout only)."""
        checkout = self.checkout(public_id)
        if checkout.request.livemode:
            raise RequestNotFound("No such test payment request.")
        return checkout

    def simulate(self, public_id: str, *, succeed: bool) -> PaymentRequest:
        """The test checkout's answer for a test request: "succeed" marks it
        paid with a simulated payment id (no transaction, no ledger posting,
        no payer) and tells the shop (``livemode: false``); "fail" pays
        nothing and leaves it open (there is no failure event to send). A
        live request is not found here. Paid twice: paid once. A test link's
        request counts on its link (locked, 4a, and refused unless active, as
        :meth:`pay` does) and the shop hears ``payment_link.paid``."""
        request = self._locked(public_id, livemode=False)
        if request.status == RequestStatus.PAID:
            return request
        link = None
        if request.payment_link_id is not None:
            link = link_rules.locked(self.db, request.payment_link_id)
            link_rules.refuse_unless_active(link, self.clock())
        if self._expire_if_due(request) or request.status != RequestStatus.CREATED:
            raise RequestNotPayable(f"This payment request is {request.status}: "
                                    "nothing was paid.")
        if not succeed:
            return request
        now = self.clock()
        request.status, request.paid_at, request.updated_at = RequestStatus.PAID, now, now
        request.test_payment_id = codes.public_id("tpay")
        if link is None:
            self.events.emit(request.merchant_id, Event.PAYMENT_REQUEST_PAID,
                             self.event_data(request), livemode=False)
        else:  # (as a live link's payment: the shop hears of the link's)
            link_rules.count_payment(link, request, now)
            self.events.emit(request.merchant_id, Event.PAYMENT_LINK_PAID,
                             link_rules.event_data(link, request), livemode=False)
        return request

    def _expire_if_due(self, request: PaymentRequest) -> bool:
        """Mark a created request whose time is up as expired (under its row
        lock); True if it did."""
        if request.status != RequestStatus.CREATED or request.expires_at > self.clock():
            return False
        request.status, request.updated_at = RequestStatus.EXPIRED, self.clock()
        if request.payment_link_id is None:  # (a link's request: the shop never asked it)
            self.events.emit(request.merchant_id, Event.PAYMENT_REQUEST_EXPIRED,
                             self.event_data(request), livemode=request.livemode)
        return True

    def _locked(self, public_id: str, *, merchant_id: int | None = None,
                livemode: bool | None = None) -> PaymentRequest:
        stmt = select(PaymentRequest).where(PaymentRequest.public_id == public_id)
        if merchant_id is not None:
            stmt = stmt.where(PaymentRequest.merchant_id == merchant_id)
        if livemode is not None:
            stmt = stmt.where(in_mode(PaymentRequest, livemode))
        # populate_existing: what the lock's last holder committed, not what
        # this session may have read before it waited.
        request = self.db.scalar(stmt.with_for_update(key_share=True)
                                 .execution_options(populate_existing=True))
        if request is None:
            raise RequestNotFound("No such payment request.")
        return request

    def store_ref(self, request: PaymentRequest) -> StoreRef | None:
        """The store the request is paid at (the shop's first if it names none)."""
        row = self.db.execute(select(*STORE_COLUMNS).where(
            store_of(request.store_id, request.merchant_id))).first()
        return None if row is None else StoreRef.of_row(row)

    def of_merchant_with_store(self, merchant: Merchant, public_id: str, *,
                               livemode: bool = True) -> tuple[PaymentRequest, StoreRef | None]:
        """:meth:`of_merchant` and the request's store, in one query."""
        row = self.db.execute(
            select(PaymentRequest, *STORE_COLUMNS)
            .outerjoin(MerchantStore, store_of(PaymentRequest.store_id,
                                               PaymentRequest.merchant_id))
            .where(PaymentRequest.public_id == public_id,
                   PaymentRequest.merchant_id == merchant.id,
                   in_mode(PaymentRequest, livemode))).first()
        if row is None:
            raise RequestNotFound("No such payment request.")
        return row[0], StoreRef.of_row(row, 1)

    def event_data(self, request: PaymentRequest,
                   store: StoreRef | None = None) -> dict[str, object]:
        """A payment request's webhook data; ``store`` read if not given."""
        store = store or self.store_ref(request)
        return {"id": request.public_id, "order_reference": request.order_reference,
                "amount_paise": request.amount_paise, "status": request.status,
                "paid_at": request.paid_at.isoformat() if request.paid_at else None,
                "store": None if store is None else store.as_dict()}


def payment_of(db: Session, request: PaymentRequest) -> Transaction | None:
    return None if request.transaction_id is None else db.get(Transaction, request.transaction_id)


def return_target(request: PaymentRequest, merchant: Merchant,
                  status: str | None = None) -> str | None:
    """Where the customer goes back to: the request's return URL, if it has one
    and it is still on one of the shop's return origins, with
    ``payment_request_id`` and ``status`` added to its query (after what the
    shop put there, which is kept as it was). ``status``: what to say instead
    of the request's own (``abandoned``: the customer went back unpaid; the
    request stays open until it expires)."""
    url = request.return_url
    if not url or origin_of(url) not in allowed_origins(merchant):
        return None
    parts = urlsplit(url)
    ours = urlencode({"payment_request_id": request.public_id,
                      "status": status or request.status})
    query = f"{parts.query.rstrip('&')}&{ours}" if parts.query.rstrip("&") else ours
    return urlunsplit(parts._replace(query=query))
