"""Money requests: a user (the requester) asks another (the payer, by phone
number) for an amount, with a note and an expiry.

    pending --the payer pays (PIN)------> paid       (one transfer, under the request's row lock)
            --the payer declines--------> declined   (and may block the requester)
            --its expiry passes---------> expired    (read as such at once; the sweep writes it)
            --the requester cancels-----> cancelled  (or its split bill is closed)

A request is only a prompt: nothing moves without the payer's PIN, and paying
is an ordinary transfer (:meth:`Transfers.send_money`, every rule of a
transfer) whose form key is the request's own id, so two clicks, a retry or
two sessions racing move money once. Against spam: a payer may block a
requester, a requester makes at most ``RequestPolicy.max_per_day`` requests a
day (India's day; a split bill's shares count), and a request from someone the
payer has never paid says so (:attr:`RequestView.first_time`).

Expiry is read at once (:meth:`MoneyRequests.status_of`: a pending request
past ``expires_at`` reads as expired everywhere, and can be neither paid nor
declined); the sweep (:meth:`MoneyRequests.expire_due`, a periodic task)
writes it down.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..core import codes
from ..core.codes import IST, Kind, MoneyRequestStatus, Status, utcnow
from ..core.errors import WalletError
from ..core.models import Transaction, User
from ..core.notifications import Notice, notify
from ..core.phone import InvalidPhone, normalize_phone
from ..identity.pins import PinInput
from . import records
from .errors import (
    AmountChanged,
    MoneyRequestClosed,
    MoneyRequestNotFound,
    RecipientNotFound,
    RequestLimit,
    RequestsBlocked,
    SelfRequest,
)
from .models import MoneyRequest, RequestBlock, Split
from .quotes import AmountInput, ConfirmText, read_amount, refuse_if_any
from .transfers import Transfers

__all__ = ["ExpiryInput", "MoneyRequestQuote", "MoneyRequests", "RequestPolicy", "RequestView"]

#: An expiry as given: a day ("2026-12-20": its end in India), an ISO instant
#: with its offset, or None for the default.
ExpiryInput = dt.datetime | dt.date | str | None
PENDING, PAID = MoneyRequestStatus.PENDING, MoneyRequestStatus.PAID
EXPIRE_BATCH = 200


@dataclass(frozen=True)
class RequestPolicy:
    #: Requests one user may make in a day (India's), a split's shares included.
    max_per_day: int = 20
    default_expiry_s: float = 7 * 24 * 3600.0
    max_expiry_s: float = 30 * 24 * 3600.0
    #: A split's creator may remind its payers once in this long.
    remind_every_s: float = 3600.0


@dataclass(frozen=True)
class RequestView:
    """A request as pages and the API show it: its status now, both people,
    and (for the payer) whether they have ever paid the requester."""

    request: MoneyRequest
    status: MoneyRequestStatus
    requester: User
    payer: User
    first_time: bool
    #: The split bill it is a share of, if any ("sp_…").
    split_public_id: str | None = None


class MoneyRequests:
    def __init__(self, dbsession: Session, *, transfers: Transfers, policy: RequestPolicy,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.transfers = transfers
        self.policy = policy
        self.clock = clock

    # ------------------------------------------------------- the requester's side

    def ask(self, requester: User, payer_phone: str, amount: AmountInput, note: str = "",
            expires: ExpiryInput = None) -> MoneyRequest:
        """A new request to the user with ``payer_phone``; every field's problem
        at once, nothing written on any refusal."""
        problems: dict[str, str] = {}
        amount_paise = self.read_amount(amount, problems)
        if (note_problem := records.note_problem(note)) is not None:
            problems["note"] = note_problem
        expires_at = self.read_expiry(expires, problems)
        try:
            payer = self.payer_for(requester, payer_phone)
        except WalletError as exc:
            problems.update(exc.errors)
            if len(problems) == 1:
                raise
        refuse_if_any(problems)
        assert amount_paise is not None and expires_at is not None  # (no problem: read)
        self.reserve(requester, 1)
        return self.new(requester, payer, amount_paise, records.clean_note(note), expires_at)

    def read_amount(self, amount: AmountInput, problems: dict[str, str]) -> int | None:
        return read_amount(amount, problems, max_paise=self.transfers.max_transfer_paise,
                           check=self.transfers.check_transfer_amount)

    def read_expiry(self, value: ExpiryInput, problems: dict[str, str]) -> dt.datetime | None:
        """When the request lapses: in the future, at most ``max_expiry_s`` away."""
        now = self.clock()
        if value is None or value == "":
            return now + dt.timedelta(seconds=self.policy.default_expiry_s)
        try:
            when = _instant(value)
        except (ValueError, OverflowError):  # (9999-12-31's next day)
            problems["expires"] = "Give the expiry as a date like 2026-12-31."
            return None
        if when <= now:
            problems["expires"] = "The expiry must be in the future."
            return None
        if when > now + dt.timedelta(seconds=self.policy.max_expiry_s):
            days = int(self.policy.max_expiry_s // 86400)
            problems["expires"] = f"The expiry can be at most {days} days away."
            return None
        return when

    def payer_for(self, requester: User, phone_text: str, *, field: str = "phone") -> User:
        """The user asked, by phone: not the requester, registered, not blocking them."""
        try:
            phone = normalize_phone(phone_text)
        except InvalidPhone as exc:
            raise WalletError(str(exc), field) from None
        if phone == requester.phone:
            raise SelfRequest("You cannot ask yourself for money.", field)
        payer = self.db.scalar(select(User).where(User.phone == phone))
        if payer is None or not payer.is_active:
            raise RecipientNotFound(f"No wallet is registered with {phone}.", field)
        if self.db.scalar(select(RequestBlock.id).where(
                RequestBlock.user_id == payer.id,
                RequestBlock.blocked_user_id == requester.id)) is not None:
            raise RequestsBlocked(f"{payer.name} does not take money requests from you.", field)
        return payer

    def reserve(self, requester: User, count: int) -> None:
        """Room for ``count`` more requests today, counted under the requester's
        row lock (alone in its transaction), so racing asks cannot slip past."""
        self.db.execute(select(User.id).where(User.id == requester.id)
                        .with_for_update(key_share=True))
        start = dt.datetime.combine(self.clock().astimezone(IST).date(), dt.time(), IST)
        made = self.db.scalar(select(func.count()).select_from(MoneyRequest).where(
            MoneyRequest.requester_user_id == requester.id,
            MoneyRequest.created_at >= start)) or 0
        if made + count > self.policy.max_per_day:
            raise RequestLimit(f"You can make at most {self.policy.max_per_day} money requests "
                               f"a day ({made} made today).")

    def new(self, requester: User, payer: User, amount_paise: int, note: str,
            expires_at: dt.datetime, *, split_id: int | None = None) -> MoneyRequest:
        """The request's row and the payer's notification (checked already)."""
        now = self.clock()
        request = MoneyRequest(
            public_id=codes.public_id("rq"), requester_user_id=requester.id,
            payer_user_id=payer.id, amount_paise=amount_paise, note=note, status=PENDING,
            split_id=split_id, expires_at=expires_at, created_at=now, updated_at=now)
        self.db.add(request)
        self.db.flush()
        warning = "" if self.paid_before(payer.id, [requester.id]) else (
            " You have never paid them before.")
        notify(self.db, payer.id, Notice.MONEY_REQUESTED,
               f"{requester.name} asks you for {format_paise(amount_paise)}"
               + (f": {note}." if note else ".") + warning, now=now)
        return request

    def cancel(self, requester: User, public_id: str) -> MoneyRequest:
        request = self.locked(public_id, requester_user_id=requester.id)
        if request.status != MoneyRequestStatus.CANCELLED:
            self.close(request, MoneyRequestStatus.CANCELLED)
            notify(self.db, request.payer_user_id, Notice.REQUEST_CANCELLED,
                   f"{requester.name} cancelled their request for "
                   f"{format_paise(request.amount_paise)}.", now=self.clock())
        return request

    # ------------------------------------------------------------ the payer's side

    def quote(self, payer: User, public_id: str,
              amount_paise: int | None = None) -> MoneyRequestQuote:
        """Paying a request's confirm step (wallet.money.quotes): the amount is
        the request's; ``amount_paise``, as the payer was shown it (a page
        has it: nothing read), else read now (the API's, when its body has none)."""
        if amount_paise is None:
            amount_paise = self.of_user(payer, public_id, as_payer=True).amount_paise
        return MoneyRequestQuote(self, payer, public_id, amount_paise)

    def pay(self, payer: User, public_id: str, *, pin: PinInput,
            amount_paise: int | None = None) -> tuple[MoneyRequest, Transaction]:
        """Pay the request with one transfer (approved by ``pin``), at most once:
        confirmed again (a double click, a retry, a second session) it returns
        the transfer made. ``amount_paise``: the amount the payer agreed to."""
        request, requester = self._locked_with_requester(public_id, payer.id)
        if request.status == PAID and request.transaction_id is not None:
            return request, self.db.get_one(Transaction, request.transaction_id)
        self.ensure_open(request)
        if amount_paise is not None and amount_paise != request.amount_paise:
            raise AmountChanged(f"The amount asked for is now "
                                f"{format_paise(request.amount_paise)}: nothing was paid. "
                                "Look again.", "amount")
        tx = self.transfers.send_money(payer, requester.phone, request.amount_paise,
                                       codes.money_request_key(request.public_id),
                                       request.note or "Money request", pin=pin)
        # Open when checked above, under its lock: paid now, even if its expiry
        # passed while the transfer waited (a refusal after the money moved
        # would leave a transfer no request names: the pages commit refusals).
        self._mark(request, PAID)
        request.transaction_id = tx.id
        return request, tx

    def decline(self, payer: User, public_id: str, *, block: bool = False) -> MoneyRequest:
        request = self.locked(public_id, payer_user_id=payer.id)
        if request.status != MoneyRequestStatus.DECLINED:
            self.close(request, MoneyRequestStatus.DECLINED)
            notify(self.db, request.requester_user_id, Notice.REQUEST_DECLINED,
                   f"{payer.name} declined your request for "
                   f"{format_paise(request.amount_paise)}.", now=self.clock())
        if block:
            self.block(payer, request.requester_user_id)
        return request

    def block(self, user: User, blocked_user_id: int) -> None:
        """``user`` takes no more requests from ``blocked_user_id`` (once is enough)."""
        # (a twin decline-and-block of another request may insert it first)
        self.db.execute(_insert_block(self.db.get_bind().dialect.name), {
            "user_id": user.id, "blocked_user_id": blocked_user_id,
            "created_at": self.clock()}, execution_options={"dml_strategy": "raw"})

    def unblock(self, user: User, blocked_user_id: int) -> None:
        block = self.db.scalar(select(RequestBlock).where(
            RequestBlock.user_id == user.id, RequestBlock.blocked_user_id == blocked_user_id))
        if block is not None:
            self.db.delete(block)

    def blocked(self, user: User) -> list[User]:
        return list(self.db.scalars(
            select(User).join(RequestBlock, RequestBlock.blocked_user_id == User.id)
            .where(RequestBlock.user_id == user.id).order_by(RequestBlock.id)))

    # ----------------------------------------------------------- state, locks

    def status_of(self, request: MoneyRequest) -> MoneyRequestStatus:
        """Its status now: a pending request whose time is up reads as expired."""
        if request.status == PENDING and request.expires_at <= self.clock():
            return MoneyRequestStatus.EXPIRED
        return MoneyRequestStatus(request.status)

    def ensure_open(self, request: MoneyRequest) -> None:
        status = self.status_of(request)
        if status != PENDING:
            raise MoneyRequestClosed(f"This request is {status}: nothing was done.")

    def close(self, request: MoneyRequest, status: MoneyRequestStatus) -> None:
        """pending -> ``status``, under the request's row lock (held by the caller)."""
        self.ensure_open(request)
        self._mark(request, status)

    def _mark(self, request: MoneyRequest, status: MoneyRequestStatus) -> None:
        now = self.clock()
        request.status, request.closed_at, request.updated_at = status, now, now

    def locked(self, public_id: str, **owner: int) -> MoneyRequest:
        """The request, ``FOR NO KEY UPDATE`` (lock order 4), if ``owner``'s
        (``payer_user_id=`` / ``requester_user_id=`` / ``split_id=``)."""
        stmt = self._of(public_id, owner)
        # populate_existing: what the lock's last holder committed.
        request = self.db.scalar(stmt.with_for_update(key_share=True)
                                 .execution_options(populate_existing=True))
        if request is None:
            raise MoneyRequestNotFound("No such money request.")
        return request

    def _locked_with_requester(self, public_id: str, payer_id: int) -> tuple[MoneyRequest, User]:
        """:meth:`locked` (the payer's request) and its requester, in one query;
        only the request's row is locked (the transfer locks the requester's)."""
        row = self.db.execute(
            self._of(public_id, {"payer_user_id": payer_id}).add_columns(User)
            .join(User, User.id == MoneyRequest.requester_user_id)
            .with_for_update(key_share=True, of=MoneyRequest)
            .execution_options(populate_existing=True)).first()
        if row is None:
            raise MoneyRequestNotFound("No such money request.")
        return row[0], row[1]

    @staticmethod
    def _of(public_id: str, owner: dict[str, int]) -> Select[MoneyRequest]:
        stmt = select(MoneyRequest).where(MoneyRequest.public_id == public_id)
        for column, value in owner.items():
            stmt = stmt.where(getattr(MoneyRequest, column) == value)
        return stmt

    def expire_due(self, batch: int = EXPIRE_BATCH) -> int:
        """Write down the expiry of pending requests whose time is up (a
        periodic task; each locked in ``expires_at`` order). Returns how many."""
        now = self.clock()
        due = list(self.db.scalars(
            select(MoneyRequest.public_id)
            .where(MoneyRequest.status == PENDING, MoneyRequest.expires_at <= now)
            .order_by(MoneyRequest.expires_at, MoneyRequest.id).limit(batch)))
        expired = 0
        for public_id in due:
            request = self.locked(public_id)
            if request.status == PENDING and request.expires_at <= now:
                request.status, request.closed_at, request.updated_at = (
                    MoneyRequestStatus.EXPIRED, now, now)
                expired += 1
        return expired

    # ------------------------------------------------------------------ reads

    def of_user(self, user: User, public_id: str, *, as_payer: bool | None = None
                ) -> MoneyRequest:
        """The request if ``user`` is its payer or requester (``as_payer``: only
        that side); anyone else's answers as no such request."""
        stmt = select(MoneyRequest).where(MoneyRequest.public_id == public_id)
        if as_payer is None:
            stmt = stmt.where(or_(MoneyRequest.payer_user_id == user.id,
                                  MoneyRequest.requester_user_id == user.id))
        elif as_payer:
            stmt = stmt.where(MoneyRequest.payer_user_id == user.id)
        else:
            stmt = stmt.where(MoneyRequest.requester_user_id == user.id)
        request = self.db.scalar(stmt)
        if request is None:
            raise MoneyRequestNotFound("No such money request.")
        return request

    def page(self, user: User, *, incoming: bool, status: str | None = None,
             cursor: int | None = None, limit: int = 20) -> tuple[list[RequestView], int | None]:
        """The user's requests to pay (``incoming``) or made, newest first:
        (page, cursor of the next page). ``status`` as :meth:`status_of` reads it."""
        mine = MoneyRequest.payer_user_id if incoming else MoneyRequest.requester_user_id
        stmt = (select(MoneyRequest).where(mine == user.id)
                .order_by(MoneyRequest.id.desc()).limit(limit + 1))
        now = self.clock()
        if status == PENDING:
            stmt = stmt.where(MoneyRequest.status == PENDING, MoneyRequest.expires_at > now)
        elif status == MoneyRequestStatus.EXPIRED:
            stmt = stmt.where(or_(MoneyRequest.status == status, (
                (MoneyRequest.status == PENDING) & (MoneyRequest.expires_at <= now))))
        elif status is not None:
            stmt = stmt.where(MoneyRequest.status == status)
        if cursor is not None:
            stmt = stmt.where(MoneyRequest.id < cursor)
        rows = list(self.db.scalars(stmt))
        return self.views(rows[:limit], user), (rows[limit - 1].id if len(rows) > limit
                                                 else None)

    def paid_view(self, request: MoneyRequest, payer: User) -> RequestView:
        """A request just paid by ``payer``, as :meth:`view` says it, from what
        paying loaded (the requester is in the session): no query but its split's id."""
        split_id = None if request.split_id is None else self.db.scalar(
            select(Split.public_id).where(Split.id == request.split_id))
        return RequestView(request, self.status_of(request),
                           self.db.get_one(User, request.requester_user_id), payer, False,
                           split_id)

    def view(self, request: MoneyRequest, user: User) -> RequestView:
        return self.views([request], user)[0]

    def views(self, requests: list[MoneyRequest], user: User) -> list[RequestView]:
        """Each request with both people (one query for all) and, where ``user``
        is to pay, whether they ever paid the requester (one more)."""
        ids = {r.requester_user_id for r in requests} | {r.payer_user_id for r in requests}
        people = {u.id: u for u in self.db.scalars(select(User).where(User.id.in_(ids)))}
        people[user.id] = user
        paid = self.paid_before(user.id, [r.requester_user_id for r in requests
                                          if r.payer_user_id == user.id])
        split_ids = {r.split_id for r in requests if r.split_id is not None}
        splits: dict[int, str] = {row.id: row.public_id for row in self.db.execute(
            select(Split.id, Split.public_id).where(Split.id.in_(split_ids)))} if split_ids else {}
        return [RequestView(r, self.status_of(r), people[r.requester_user_id],
                            people[r.payer_user_id],
                            r.payer_user_id == user.id and r.requester_user_id not in paid,
                            None if r.split_id is None else splits[r.split_id])
                for r in requests]

    def paid_before(self, payer_id: int, payee_ids: Iterable[int]) -> set[int]:
        """Those of ``payee_ids`` that ``payer_id`` has sent money to."""
        wanted = set(payee_ids)
        if not wanted:
            return set()
        return set(self.db.scalars(select(Transaction.payee_user_id).distinct().where(
            Transaction.payer_user_id == payer_id, Transaction.kind == Kind.TRANSFER,
            Transaction.status == Status.COMPLETED, Transaction.payee_user_id.in_(wanted))))

    def for_transaction(self, transaction_id: int) -> MoneyRequest | None:
        """The request a transfer paid, if it paid one (history links both ways)."""
        return self.db.scalar(select(MoneyRequest).where(
            MoneyRequest.transaction_id == transaction_id))


def _insert_block(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING of a block (unique per pair)."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(RequestBlock).on_conflict_do_nothing(
        index_elements=["user_id", "blocked_user_id"])


def _instant(value: dt.datetime | dt.date | str) -> dt.datetime:
    """An expiry as an aware instant: a day is its end in India."""
    if isinstance(value, str):
        text = value.strip()
        value = (dt.date.fromisoformat(text) if len(text) == 10
                 else dt.datetime.fromisoformat(text))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("an instant needs its offset")
        return value
    return dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), IST)


@dataclass(frozen=True)
class MoneyRequestQuote:
    """Pay a request (its amount is the request's, never typed):
    MoneyRequests.pay. ``amount_paise``: what the payer was shown; a request
    changed since is refused, not paid."""

    requests: MoneyRequests
    payer: User
    public_id: str
    amount_paise: int

    def preview(self, request_key: str) -> ConfirmText:
        """Every check short of the PIN: still open, the same amount, and the
        transfer's own (the payer's wallet not frozen, the requester's there)."""
        records.idempotency_key(Kind.TRANSFER, self.payer, request_key)
        requests = self.requests
        view = requests.view(requests.of_user(self.payer, self.public_id, as_payer=True),
                             self.payer)
        request, requester = view.request, view.requester
        requests.ensure_open(request)
        if request.amount_paise != self.amount_paise:
            raise AmountChanged(f"The amount asked for is now "
                                f"{format_paise(request.amount_paise)}. Look again.", "amount")
        requests.transfers.preview_transfer(
            self.payer, requester.phone, request.amount_paise,
            codes.money_request_key(request.public_id), request.note)
        details = [f"For: {request.note}"] if request.note else []
        if view.first_time:
            details.append(f"You have never paid {requester.name} before. Pay only if you "
                           "know them and expect this request.")
        return ConfirmText(f"Pay {format_paise(request.amount_paise)} to {requester.name} "
                           f"({requester.masked_phone})?", tuple(details))

    def confirm(self, pin: PinInput, request_key: str) -> tuple[MoneyRequest, Transaction]:
        return self.requests.pay(self.payer, self.public_id, pin=pin,
                                 amount_paise=self.amount_paise)
