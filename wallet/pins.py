"""The wallet PIN: the step-up every payment out of a user's wallet needs (a
send, a shop payment, a checkout, a withdrawal), on the pages and in the API.

The money operations (wallet.transfers, wallet.withdrawals) take the PIN as a
required argument and check it here first, so no adapter can move money
without it. A PIN is 4 or 6 digits, stored as a bcrypt hash.

Wrong tries are counted the way log-ins are throttled: one atomic
``UPDATE ... RETURNING`` reserves the try *before* the PIN is compared, so
parallel guesses are counted one after the other (on PostgreSQL they queue on
the row) and at most ``max_tries`` are ever compared. The last allowed wrong
try locks money movement until ``locked_until``; a right PIN clears the count.

Whose PIN is a parameter of the class (:attr:`Pins.table`, :attr:`Pins.owner`):
a user's wallet PIN here, a shop's PIN in wallet.merchant_pins -- the same
rules and code on a table of its own.

A refused PIN raises :class:`PinRefused` *after* counting the try: the caller
must commit (a page that shows the error, the API's problem answer) for the try
to count -- an adapter that rolls back only loses its own attempt's record,
never lets more than ``max_tries`` be compared at once.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import bcrypt
from sqlalchemy import Column, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .codes import utcnow
from .errors import WalletError
from .models import Merchant, MerchantPin, User, WalletPin, table_of
from .web_sessions import EndReason, PrincipalKind, WebSessions

__all__ = ["DEFAULT_PIN_POLICY", "PinApproval", "PinLocked", "PinNotSet", "PinPolicy",
           "PinRefused", "Pins", "WrongPin", "hash_new_pin"]

_PIN = re.compile(r"[0-9]{4}|[0-9]{6}", re.ASCII)
_APPROVER = object()
# ORM-enabled statements (so that the request's transaction manager sees a
# change to commit) on rows no session holds in memory.
_NO_SYNC = {"synchronize_session": False}
#: Who may have a PIN: a user (wallet PIN), a shop (wallet.merchant_pins).
PinOwner = User | Merchant


class PinRefused(WalletError):
    """The PIN did not allow this payment (wrong, locked, or not set yet)."""

    field = "pin"
    code = "pin_refused"


class WrongPin(PinRefused):
    code = "wrong_pin"


class PinLocked(PinRefused):
    code = "pin_locked"
    #: seconds until payments are unlocked (an API's Retry-After)
    retry_after_s: int = 60


class PinNotSet(PinRefused):
    code = "pin_not_set"


@dataclass(frozen=True)
class PinPolicy:
    max_tries: int = 5
    lock_s: float = 900.0
    bcrypt_rounds: int = 12


DEFAULT_PIN_POLICY = PinPolicy()


@dataclass(frozen=True)
class PinApproval:
    """Proof that ``user_id`` gave the right PIN in this unit of work, for
    callers that move money several times on one check (demo data). Only
    :meth:`Pins.approve` makes one."""

    user_id: int
    _by: object
    #: Whose: the PIN table that approved it (a shop's id is not a user's).
    table: str = "wallet_pins"

    def __post_init__(self) -> None:
        if self._by is not _APPROVER:
            raise TypeError("a PinApproval comes from Pins.approve()")


#: What the money operations take: the PIN as typed, or an approval.
PinInput = str | PinApproval | None


def hash_new_pin(pin: str, repeat: str, bcrypt_rounds: int) -> str:
    """The bcrypt hash of a new PIN, checked first: 4 or 6 digits, not too
    easy to guess, typed twice alike (else WalletError naming the field)."""
    pin = (pin or "").strip()
    if not _PIN.fullmatch(pin):
        raise WalletError("Use 4 or 6 digits for your PIN.", "pin")
    if len(set(pin)) == 1 or pin in ("1234", "123456", "0123", "654321", "4321"):
        raise WalletError("That PIN is too easy to guess: choose another.", "pin")
    if (repeat or "").strip() != pin:
        raise WalletError("The two PINs differ: type the same PIN twice.", "repeat")
    return bcrypt.hashpw(pin.encode(), bcrypt.gensalt(bcrypt_rounds)).decode()


class Pins:
    #: Whose PINs: their table and its owner column (see wallet.merchant_pins).
    table: ClassVar[type[WalletPin] | type[MerchantPin]] = WalletPin
    owner: ClassVar[Column[int]] = table_of(WalletPin).c.user_id
    #: What a lock stops, in messages.
    locks: ClassVar[str] = "payments"
    noun: ClassVar[str] = "wallet PIN"
    #: Whose web sessions a reset ends (wallet.web_sessions).
    principal: ClassVar[str] = PrincipalKind.USER

    def __init__(self, dbsession: Session, policy: PinPolicy = DEFAULT_PIN_POLICY, *,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.clock = clock

    # ---------------------------------------------------------------- set up

    def has_pin(self, user: PinOwner) -> bool:
        return self.db.get(self.table, user.id) is not None

    def set_first(self, user: PinOwner, pin: str, repeat: str) -> None:
        """Set the PIN of a user who has none (a second one is a change)."""
        self.set_first_hashed(user, self._new_hash(pin, repeat))

    def set_first_hashed(self, user: PinOwner, new_hash: str) -> None:
        """:meth:`set_first` with a hash from :func:`hash_new_pin` (demo data:
        one hash for many users)."""
        try:
            with self.db.begin_nested():  # a twin request may set it first
                self.db.add(self.table(**{self.owner.key: user.id}, pin_hash=new_hash,
                                       failed_tries=0, updated_at=self.clock()))
                self.db.flush()
        except IntegrityError:
            raise WalletError("You already have a PIN: change it with the old one.",
                              "pin") from None

    def change(self, user: PinOwner, old_pin: str, pin: str, repeat: str) -> None:
        """A new PIN, given the old one (counted like any other try)."""
        new_hash = self._new_hash(pin, repeat)
        self.approve(user, old_pin, field="old_pin")
        self._store(user, new_hash)

    def reset(self, user: PinOwner, pin: str, repeat: str, *,
              keep_session_id: int | None = None) -> None:
        """A new PIN for a user who has just proved their password (checked by
        the caller with AccountService.authenticate, whose throttle counts the
        guesses). Clears a lock: the password is the stronger secret. Every
        other session of the user ends (other browsers, the phone app's
        tokens) but ``keep_session_id``: whoever reset it may be the only one
        who should still be signed in."""
        new_hash = self._new_hash(pin, repeat)
        with self.db.begin_nested():  # (no PIN to reset: the sessions live on)
            # The sessions before the PIN row: a payment of one of them holds
            # its session row (its check touched it) before it locks the PIN.
            WebSessions(self.db, clock=self.clock).end_others(
                self.principal, user.id, EndReason.PIN_RESET,
                keep_session_id=keep_session_id)
            self._store(user, new_hash)

    # ----------------------------------------------------------------- check

    def approve(self, user: PinOwner, pin: PinInput, *, field: str = "pin") -> PinApproval:
        """Check ``pin`` for ``user`` (counting the try first); raise PinRefused."""
        if isinstance(pin, PinApproval):
            if (pin.user_id, pin.table) != (user.id, self.table.__tablename__):
                raise PinRefused("That approval is another user's.", field)
            return pin
        now = self.clock()
        row = self._reserve_try(user.id, now)
        if row is None:
            raise PinNotSet(f"Set your {self.noun} first: it keeps your money safe.", field)
        tries, locked_until, pin_hash = row
        if locked_until is not None and locked_until > now:
            raise self._locked(self._locked_message(locked_until, now), locked_until, now,
                               field)
        if tries > self.policy.max_tries:  # (a lock cleared by hand: stay safe)
            raise PinLocked(self._locked_message(now + dt.timedelta(seconds=60), now), field)
        typed = (pin or "").strip()
        if _PIN.fullmatch(typed) and bcrypt.checkpw(typed.encode(), pin_hash.encode()):
            self._clear(user.id)
            return PinApproval(user.id, _APPROVER, self.table.__tablename__)
        if tries >= self.policy.max_tries:
            until = now + dt.timedelta(seconds=self.policy.lock_s)
            self.db.execute(update(self.table).where(self.owner == user.id)
                            .values(locked_until=until), execution_options=_NO_SYNC)
            raise self._locked("Wrong PIN. " + self._locked_message(until, now), until, now,
                               field)
        left = self.policy.max_tries - tries
        raise WrongPin(f"Wrong PIN: {left} {'try' if left == 1 else 'tries'} left before "
                       f"{self.locks} are locked for a while.", field)

    def _reserve_try(self, user_id: int,
                     now: dt.datetime) -> tuple[int, dt.datetime | None, str] | None:
        """Count one more try, atomically; a lock that has run out starts the
        count afresh. (tries including this one, locked_until, hash) or None."""
        pins = self.table
        lapsed = pins.locked_until.is_not(None) & (pins.locked_until <= now)
        stmt = (update(pins).where(self.owner == user_id)
                .values(failed_tries=case((lapsed, 1), else_=pins.failed_tries + 1),
                        locked_until=case((lapsed, None), else_=pins.locked_until),
                        updated_at=now)
                .returning(pins.failed_tries, pins.locked_until, pins.pin_hash))
        row = self.db.execute(stmt, execution_options=_NO_SYNC).first()
        if row is None:
            return None
        locked_until = row.locked_until
        if locked_until is not None and locked_until.tzinfo is None:  # (SQLite)
            locked_until = locked_until.replace(tzinfo=dt.timezone.utc)
        return int(row.failed_tries), locked_until, str(row.pin_hash)

    def locked_until(self, user: PinOwner) -> dt.datetime | None:
        found = self.db.scalar(select(self.table.locked_until).where(self.owner == user.id))
        return found if found is not None and found > self.clock() else None

    # -------------------------------------------------------------- internals

    def _clear(self, user_id: int) -> None:
        self.db.execute(update(self.table).where(self.owner == user_id)
                        .values(failed_tries=0, locked_until=None), execution_options=_NO_SYNC)

    def _store(self, user: PinOwner, new_hash: str) -> None:
        done = self.db.execute(
            update(self.table).where(self.owner == user.id).values(
                pin_hash=new_hash, failed_tries=0, locked_until=None, updated_at=self.clock()),
            execution_options=_NO_SYNC)
        if not getattr(done, "rowcount", 0):
            raise PinNotSet(f"Set your {self.noun} first.", "pin")

    def _new_hash(self, pin: str, repeat: str) -> str:
        return hash_new_pin(pin, repeat, self.policy.bcrypt_rounds)

    @staticmethod
    def _locked(message: str, until: dt.datetime, now: dt.datetime, field: str) -> PinLocked:
        error = PinLocked(message, field)
        error.retry_after_s = max(1, int((until - now).total_seconds() + 0.999))
        return error

    def _locked_message(self, until: dt.datetime, now: dt.datetime) -> str:
        minutes = max(1, int((until - now).total_seconds() + 59) // 60)
        return (f"Too many wrong PINs: {self.locks} are locked for {minutes} more "
                f"minute{'s' if minutes != 1 else ''}. Forgot it? Reset it with your password.")
