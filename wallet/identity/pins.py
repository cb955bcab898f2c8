"""The wallet PIN: the step-up every payment out of a user's wallet needs (a
send, a shop payment, a checkout, a withdrawal), on the pages and in the API.

The money operations (wallet.money.transfers and shop_payments,
wallet.banking.withdrawals) take the PIN as a required argument and check it
here, after everything else that could refuse the request, so no adapter can
move money without it. A PIN is 4 or 6 digits, stored as a keyed hash
(wallet.identity.pin_hashes).

Every try is counted *before* the PIN is compared, durably and whatever the
request does next (wallet.identity.pin_tries: on PostgreSQL in a transaction of its
own): parallel guesses are counted one after the other and at most
``max_tries`` are ever compared. The last allowed wrong try locks money
movement until ``locked_until``; a right PIN clears the count.

Whose PIN is a parameter of the class (:attr:`Pins.table`, :attr:`Pins.owner`):
a user's wallet PIN here, a shop's PIN in wallet.identity.merchant_pins -- the same
rules and code on a table of its own.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, ClassVar

from sqlalchemy import Column, Row, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.codes import utcnow
from ..core.errors import WalletError
from ..core.ini import ConfigurationError
from ..core.models import Merchant, User, table_of
from .errors import PinLocked, PinNotSet, PinRefused, WrongPin
from .models import MerchantPin, WalletPin
from .pin_hashes import PinKeys, UnknownPinKey, Verdict, hash_pin, verify_pin
from .pin_tries import Outcome, PinRows, Read, Reservation, Tally, TryCounter
from .web_sessions import EndReason, PrincipalKind, WebSessions

__all__ = ["PinApproval", "PinKeys", "PinPolicy", "Pins", "hash_new_pin"]

log = logging.getLogger(__name__)

_PIN = re.compile(r"[0-9]{4}|[0-9]{6}", re.ASCII)
_APPROVER = object()
#: Pauses before a try counted beyond the allowance while others are in flight
#: is counted again (1.5 s in all; then it is refused as locked).
_IN_FLIGHT_PAUSES_S = (0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.2, 0.3, 0.3, 0.4)
# ORM-enabled statements (so that the request's transaction manager sees a
# change to commit) on rows no session holds in memory.
_NO_SYNC = {"synchronize_session": False}
#: Who may have a PIN: a user (wallet PIN), a shop (wallet.identity.merchant_pins).
PinOwner = User | Merchant


@dataclass(frozen=True)
class PinPolicy:
    max_tries: int = 5
    lock_s: float = 900.0
    #: The server-side keys of PIN hashes (wallet.identity.pin_hashes); from the
    #: settings (``wallet.pin_keys``). None: PINs can be neither set nor checked.
    keys: PinKeys | None = None




@dataclass(frozen=True)
class PinApproval:
    """Proof that ``user_id`` gave the right PIN in this unit of work, for
    callers that move money several times on one check (demo data). Only
    :meth:`Pins.approve` makes one."""

    user_id: int
    _by: object
    #: Whose: the PIN table that approved it (a shop's id is not a user's).
    table: str = "wallet_pins"
    #: The row ``read_after`` read with the outcome (Pins.approve); None: not read.
    read: Row[Any] | None = dataclass_field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self._by is not _APPROVER:
            raise TypeError("a PinApproval comes from Pins.approve()")


#: What the money operations take: the PIN as typed, or an approval.
PinInput = str | PinApproval | None


def hash_new_pin(pin: str, repeat: str, keys: PinKeys | None) -> str:
    """The stored hash of a new PIN, checked first: 4 or 6 digits, not too
    easy to guess, typed twice alike (else WalletError naming the field)."""
    pin = (pin or "").strip()
    if not _PIN.fullmatch(pin):
        raise WalletError("Use 4 or 6 digits for your PIN.", "pin")
    if len(set(pin)) == 1 or pin in ("1234", "123456", "0123", "654321", "4321"):
        raise WalletError("That PIN is too easy to guess: choose another.", "pin")
    if (repeat or "").strip() != pin:
        raise WalletError("The two PINs differ: type the same PIN twice.", "repeat")
    return hash_pin(pin, _configured(keys))


def _configured(keys: PinKeys | None) -> PinKeys:
    if keys is None:
        raise ConfigurationError("no PIN keys: set wallet.pin_keys (see docs/deploy.md)")
    return keys


class Pins:
    #: Whose PINs: their table and its owner column (see wallet.identity.merchant_pins).
    table: ClassVar[type[WalletPin] | type[MerchantPin]] = WalletPin
    owner: ClassVar[Column[int]] = table_of(WalletPin).c.user_id
    #: What a lock stops, in messages.
    locks: ClassVar[str] = "payments"
    noun: ClassVar[str] = "wallet PIN"
    #: Whose web sessions a reset ends (wallet.identity.web_sessions).
    principal: ClassVar[str] = PrincipalKind.USER

    def __init__(self, dbsession: Session, *, policy: PinPolicy,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.clock = clock
        self.tries = TryCounter(dbsession, PinRows(self.table, self.owner))

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
            self.tries.wrote(user.id)
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
              keep_session_id: int | None = None, keep_token_id: int | None = None) -> None:
        """A new PIN for a user who has just proved their password (checked by
        the caller with AccountService.authenticate, whose throttle counts the
        guesses). Clears a lock: the password is the stronger secret. Every
        other session of the user ends (other browsers, the phone app's
        tokens) but ``keep_session_id``: whoever reset it may be the only one
        who should still be signed in (``keep_token_id``: the phone app's token
        that reset it, in the API)."""
        new_hash = self._new_hash(pin, repeat)
        with self.db.begin_nested():  # (no PIN to reset: the sessions live on)
            # The sessions before the PIN row: a payment of one of them holds
            # its session row (its check touched it) before it locks the PIN.
            WebSessions(self.db, policy=None, clock=self.clock).end_others(
                self.principal, user.id, EndReason.PIN_RESET,
                keep_session_id=keep_session_id, keep_token_id=keep_token_id)
            self._store(user, new_hash)

    # ----------------------------------------------------------------- check

    def standing(self, user: PinOwner) -> PinApproval:
        """The approval of one run of something ``user`` approved with their
        PIN earlier (a scheduled payment, an AutoPay mandate): no PIN is
        compared now. Only the domain service that keeps that approval's
        rules may ask for it, after checking the run is within what was
        approved (its own amount cap, its period, not paused or revoked);
        no page or API view ever does. A disabled account (an operator's
        decision: fraud, a death) pays nothing on an approval given before."""
        if not user.is_active:
            raise PinRefused("This account is disabled: nothing is paid from it on an "
                             "approval given before.")
        return PinApproval(user.id, _APPROVER, self.table.__tablename__)

    def approve(self, user: PinOwner, pin: PinInput, *, field: str = "pin",
                read_after: Read | None = None) -> PinApproval:
        """Check ``pin`` for ``user``, its try counted first (durably: see
        wallet.identity.pin_tries); raise PinRefused. ``read_after``: a read
        the caller needs next, run with the right PIN's outcome (Tally.settle:
        no round trip of its own on PostgreSQL); its row is the approval's
        ``read`` (None when it was not run: an approval given in)."""
        if isinstance(pin, PinApproval):
            if (pin.user_id, pin.table) != (user.id, self.table.__tablename__):
                raise PinRefused("That approval is another user's.", field)
            return pin
        keys = _configured(self.policy.keys)  # (before a try is counted)
        now = self.clock()
        typed = (pin or "").strip()
        with self.tries.tally(user.id) as tally:
            found = self._reserve(tally, user, now, field)
            verdict = self._compare(user, typed, found.pin_hash, keys, field)
            if verdict.matches:  # (a stale hash is re-made under the current key)
                new_hash = (hash_pin(typed, _configured(self.policy.keys))
                            if verdict.stale else None)
                read = tally.settle(Outcome(tally.rows, user.id, now, right=True,
                                            old_hash=found.pin_hash, new_hash=new_hash),
                                    then=read_after)
                return PinApproval(user.id, _APPROVER, self.table.__tablename__, read)
            last = found.tries >= self.policy.max_tries
            until = now + dt.timedelta(seconds=self.policy.lock_s) if last else None
            tally.settle(Outcome(tally.rows, user.id, now, right=False,
                                 lock_until=until))
        if until is not None:
            raise self._locked("Wrong PIN. " + self._locked_message(until, now), until, now,
                               field)
        left = self.policy.max_tries - found.tries
        raise WrongPin(f"Wrong PIN: {left} {'try' if left == 1 else 'tries'} left before "
                       f"{self.locks} are locked for a while.", field)

    def _reserve(self, tally: Tally, user: PinOwner, now: dt.datetime,
                 field: str) -> Reservation:
        """Count this try; refuse if locked. More tries than allowed may be
        counted at once while none is locked: parallel payments of one user
        (a PIN is compared within milliseconds of its count). Such a try is
        given back and counted again after a pause, until the others have
        settled -- never compared beyond the allowance: the tries counted
        and not given back are at most ``max_tries`` between two right PINs,
        and the one counted last of them locks if wrong."""
        for pause_s in (*_IN_FLIGHT_PAUSES_S, None):
            found = tally.reserve(user.id, now)
            if found is None:
                raise PinNotSet(f"Set your {self.noun} first: it keeps your money safe.",
                                field)
            if found.locked_until is not None and found.locked_until > now:
                raise self._locked(self._locked_message(found.locked_until, now),
                                   found.locked_until, now, field)
            if found.tries <= self.policy.max_tries:
                return found
            if pause_s is None or not tally.committed_at_once:
                break  # (or a lock cleared by hand without the count: stay safe)
            tally.give_back(user.id, over=self.policy.max_tries)
            time.sleep(pause_s)
        raise PinLocked(self._locked_message(now + dt.timedelta(seconds=60), now), field)

    def _compare(self, user: PinOwner, typed: str, stored: str, keys: PinKeys,
                 field: str) -> Verdict:
        """Compare the typed PIN with the stored hash (its try is counted already)."""
        if not _PIN.fullmatch(typed):
            return Verdict(False)
        try:
            return verify_pin(typed, stored, keys)
        except UnknownPinKey as exc:
            log.error("%s %s: PIN not checkable (%s); they must reset it", self.principal,
                      user.id, exc)
            raise PinNotSet("Your PIN must be set again: reset it with your password.",
                            field) from None

    def locked_until(self, user: PinOwner) -> dt.datetime | None:
        found = self.db.scalar(select(self.table.locked_until).where(self.owner == user.id))
        return found if found is not None and found > self.clock() else None

    # -------------------------------------------------------------- internals

    def _store(self, user: PinOwner, new_hash: str) -> None:
        self.tries.wrote(user.id)
        done = self.db.execute(
            update(self.table).where(self.owner == user.id).values(
                pin_hash=new_hash, failed_tries=0, locked_until=None, updated_at=self.clock()),
            execution_options=_NO_SYNC)
        if not getattr(done, "rowcount", 0):
            raise PinNotSet(f"Set your {self.noun} first.", "pin")

    def _new_hash(self, pin: str, repeat: str) -> str:
        return hash_new_pin(pin, repeat, self.policy.keys)

    @staticmethod
    def _locked(message: str, until: dt.datetime, now: dt.datetime, field: str) -> PinLocked:
        error = PinLocked(message, field)
        error.retry_after_s = max(1, int((until - now).total_seconds() + 0.999))
        return error

    def _locked_message(self, until: dt.datetime, now: dt.datetime) -> str:
        minutes = max(1, int((until - now).total_seconds() + 59) // 60)
        return (f"Too many wrong PINs: {self.locks} are locked for {minutes} more "
                f"minute{'s' if minutes != 1 else ''}. Forgot it? Reset it with your password.")
