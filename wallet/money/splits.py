"""Split bills: a user shares a total among people (phone numbers; the
creator may be one of them), equally, by exact amounts or by shares, and each
other person gets a money request (wallet.money.money_requests) for theirs.

    open --the creator closes it--> closed   (its pending requests cancelled)

The amounts, in paise, always add up to the total exactly (:func:`allocate`):
equally, each gets ``total // n`` and the remainder's paise go one each to the
first participants in the order listed; by shares, each gets
``total * share // sum(shares)`` (rounded down) and the paise left over go one
each to the first participants listed. The creator's own share is theirs
already (no request). The split's total stays the creator's share plus its
requests' amounts: editing an unpaid share changes the total with it.

Locks: the split's row (``FOR NO KEY UPDATE``, lock order 4), then its pending
requests in ascending id; paying a request never takes the split's row.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..core import codes
from ..core.codes import MoneyRequestStatus, SplitMode, SplitStatus, utcnow
from ..core.errors import WalletError
from ..core.models import User
from ..core.notifications import Notice, notify
from ..core.phone import InvalidPhone, normalize_phone
from ..core.text import is_ordinary
from .errors import MoneyRequestClosed, RemindTooSoon, SplitClosed, SplitNotFound
from .models import MoneyRequest, Split
from .money_requests import ExpiryInput, MoneyRequests, RequestView
from .quotes import AmountInput, refuse_if_any

__all__ = ["MAX_PARTICIPANTS", "Participant", "SplitView", "Splits", "allocate"]

MAX_PARTICIPANTS = 20
MAX_TITLE_CHARS = 80
PENDING = MoneyRequestStatus.PENDING


@dataclass(frozen=True)
class Participant:
    """A person in a split: their phone and, by mode, their exact amount
    (rupees as typed, or paise) or their number of shares (None: equal)."""

    phone: str
    value: AmountInput | None = None


@dataclass(frozen=True)
class SplitView:
    split: Split
    creator: User
    #: The other people's requests, in the order listed.
    shares: list[RequestView]
    paid_paise: int
    outstanding_paise: int


def allocate(total_paise: int, mode: SplitMode, values: Sequence[int]) -> list[int]:
    """Each participant's paise, adding up to ``total_paise`` exactly (the
    remainder: one paisa each to the first participants listed). ``values``:
    exact amounts (they must add up), shares (positive), or ignored (equal)."""
    n = len(values)
    if mode == SplitMode.EXACT:
        if sum(values) != total_paise:
            raise WalletError(f"The amounts add up to {format_paise(sum(values))}, not "
                              f"{format_paise(total_paise)}.", "participants")
        return list(values)
    if mode == SplitMode.SHARES:
        if any(v < 1 for v in values):
            raise WalletError("Each person's shares must be a whole number, 1 or more.",
                              "participants")
        weight = sum(values)
        amounts = [total_paise * v // weight for v in values]
    else:
        amounts = [total_paise // n] * n
    left = total_paise - sum(amounts)  # < n: each share lost less than a paisa
    return [a + (1 if i < left else 0) for i, a in enumerate(amounts)]


class Splits:
    def __init__(self, dbsession: Session, *, requests: MoneyRequests,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.requests = requests
        self.clock = clock

    def create(self, creator: User, title: str, total: AmountInput, mode: str,
               participants: Sequence[Participant], expires: ExpiryInput = None) -> Split:
        """A split and a request to each other person; nothing written on a refusal."""
        problems: dict[str, str] = {}
        total_paise = self.requests.read_amount(total, problems)
        title = " ".join((title or "").split())
        if not title or len(title) > MAX_TITLE_CHARS or not is_ordinary(title):
            problems["title"] = f"Give the bill a title of up to {MAX_TITLE_CHARS} characters."
        if mode not in SplitMode.ALL:
            problems["mode"] = "Split equally, by exact amounts or by shares."
        expires_at = self.requests.read_expiry(expires, problems)
        refuse_if_any(problems)
        assert total_paise is not None and expires_at is not None
        people = self._people(creator, participants)
        values = self._values(SplitMode(mode), participants)
        amounts = allocate(total_paise, SplitMode(mode), values)
        if min(amounts) < 1:
            raise WalletError("Each person's share must be at least ₹0.01.", "participants")
        others = [(p, a) for p, a in zip(people, amounts, strict=True) if p.id != creator.id]
        self.requests.reserve(creator, len(others))
        now = self.clock()
        split = Split(public_id=codes.public_id("sp"), creator_user_id=creator.id, title=title,
                      mode=mode, total_paise=total_paise,
                      creator_share_paise=total_paise - sum(a for _, a in others),
                      status=SplitStatus.OPEN, created_at=now, updated_at=now)
        self.db.add(split)
        self.db.flush()
        for payer, amount_paise in others:
            self.requests.new(creator, payer, amount_paise, title, expires_at, split_id=split.id)
        return split

    def _people(self, creator: User, participants: Sequence[Participant]) -> list[User]:
        if not 1 <= len(participants) <= MAX_PARTICIPANTS:
            raise WalletError(f"Add from 1 to {MAX_PARTICIPANTS} people.", "participants")
        people: list[User] = []
        for participant in participants:
            try:
                phone = normalize_phone(participant.phone)
            except InvalidPhone as exc:
                raise WalletError(f"{participant.phone!r}: {exc}", "participants") from None
            if any(p.phone == phone for p in people):
                raise WalletError(f"{phone} is listed twice.", "participants")
            people.append(creator if phone == creator.phone else self.requests.payer_for(
                creator, phone, field="participants"))
        if all(p.id == creator.id for p in people):
            raise WalletError("Add at least one other person.", "participants")
        return people

    def _values(self, mode: SplitMode, participants: Sequence[Participant]) -> list[int]:
        if mode == SplitMode.EQUAL:
            return [1] * len(participants)
        values: list[int] = []
        for participant in participants:
            problems: dict[str, str] = {}
            value = participant.value
            if mode == SplitMode.EXACT:
                read = self.requests.read_amount(value if value is not None else "", problems)
            else:
                read = _shares(value)
            if read is None:
                raise WalletError(f"{participant.phone}: " + problems.get(
                    "amount", "give a whole number of shares, 1 to 1000."), "participants")
            values.append(read)
        return values

    # ---------------------------------------------------------- the creator's

    def close(self, creator: User, public_id: str) -> Split:
        """Closed: its pending requests cancelled (each told its payer)."""
        split = self.locked(creator, public_id)
        if split.status == SplitStatus.CLOSED:
            return split
        for request in self._pending(split):
            # One that lapsed meanwhile is refused before anything is written
            # for it: the others are cancelled all the same.
            with contextlib.suppress(MoneyRequestClosed):
                self.requests.cancel(creator, request.public_id)
        now = self.clock()
        split.status, split.closed_at, split.updated_at = SplitStatus.CLOSED, now, now
        return split

    def remind(self, creator: User, public_id: str) -> int:
        """A reminder to each person who has not paid yet (at most once in
        ``remind_every_s``); how many were reminded."""
        split = self._open(creator, public_id)
        now = self.clock()
        every = dt.timedelta(seconds=self.requests.policy.remind_every_s)
        if split.reminded_at is not None and now < split.reminded_at + every:
            raise RemindTooSoon("You reminded them a short while ago; try again later.")
        pending = self._pending(split)
        for request in pending:
            notify(self.db, request.payer_user_id, Notice.REQUEST_REMINDER,
                   f"{creator.name} reminds you: {format_paise(request.amount_paise)} for "
                   f"{split.title}.", now=now)
        split.reminded_at = now
        return len(pending)

    def edit_share(self, creator: User, public_id: str, request_id: str,
                   amount: AmountInput) -> Split:
        """An unpaid share's new amount; the split's total changes with it."""
        problems: dict[str, str] = {}
        amount_paise = self.requests.read_amount(amount, problems)
        refuse_if_any(problems)
        assert amount_paise is not None
        split = self._open(creator, public_id)
        request = self.requests.locked(request_id, split_id=split.id)
        self.requests.ensure_open(request)
        now = self.clock()
        split.total_paise += amount_paise - request.amount_paise
        request.amount_paise, request.updated_at, split.updated_at = amount_paise, now, now
        notify(self.db, request.payer_user_id, Notice.MONEY_REQUESTED,
               f"{creator.name} now asks you for {format_paise(amount_paise)} for "
               f"{split.title}.", now=now)
        return split

    def _open(self, creator: User, public_id: str) -> Split:
        split = self.locked(creator, public_id)
        if split.status != SplitStatus.OPEN:
            raise SplitClosed("This split bill is closed.")
        return split

    def _pending(self, split: Split) -> list[MoneyRequest]:
        """Its requests still open, locked in ascending id (after the split's row)."""
        rows = self.db.scalars(
            select(MoneyRequest).where(MoneyRequest.split_id == split.id,
                                       MoneyRequest.status == PENDING)
            .order_by(MoneyRequest.id).with_for_update(key_share=True)
            .execution_options(populate_existing=True))
        return [r for r in rows if self.requests.status_of(r) == PENDING]

    def locked(self, creator: User, public_id: str) -> Split:
        """The creator's split, ``FOR NO KEY UPDATE`` (lock order 4)."""
        split = self.db.scalar(
            select(Split).where(Split.public_id == public_id,
                                Split.creator_user_id == creator.id)
            .with_for_update(key_share=True).execution_options(populate_existing=True))
        if split is None:
            raise SplitNotFound("No such split bill.")
        return split

    # ------------------------------------------------------------------ reads

    def view(self, user: User, public_id: str) -> SplitView:
        """The split as its creator or one of its people sees it: who has paid,
        what is outstanding. Anyone else's answers as no such split."""
        split = self.db.scalar(select(Split).where(Split.public_id == public_id))
        if split is None:
            raise SplitNotFound("No such split bill.")
        requests = list(self.db.scalars(select(MoneyRequest).where(
            MoneyRequest.split_id == split.id).order_by(MoneyRequest.id)))
        if user.id != split.creator_user_id and all(r.payer_user_id != user.id
                                                   for r in requests):
            raise SplitNotFound("No such split bill.")
        shares = self.requests.views(requests, user)
        creator = (user if user.id == split.creator_user_id
                   else self.db.get_one(User, split.creator_user_id))
        paid = sum(v.request.amount_paise for v in shares if v.status == MoneyRequestStatus.PAID)
        outstanding = sum(v.request.amount_paise for v in shares if v.status == PENDING)
        return SplitView(split, creator, shares, split.creator_share_paise + paid, outstanding)

    def page(self, creator: User, *, cursor: int | None = None,
             limit: int = 20) -> tuple[list[Split], int | None]:
        stmt = (select(Split).where(Split.creator_user_id == creator.id)
                .order_by(Split.id.desc()).limit(limit + 1))
        if cursor is not None:
            stmt = stmt.where(Split.id < cursor)
        rows = list(self.db.scalars(stmt))
        return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)

    def of_request(self, request: MoneyRequest) -> Split | None:
        return None if request.split_id is None else self.db.get(Split, request.split_id)


def _shares(value: AmountInput | None) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if not value.isascii() or not value.isdigit():
            return None
        value = int(value)
    if type(value) is not int or not 1 <= value <= 1000:
        return None
    return value

