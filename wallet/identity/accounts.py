"""User accounts: sign-up and log-in with bcrypt and throttling of guesses."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import bcrypt
from sqlalchemy import bindparam, case, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerlib import Ledger

from ..core.codes import utcnow
from ..core.models import LoginAttempt, LoginThrottle, Merchant, MerchantStore, User, table_of
from ..core.phone import InvalidPhone, normalize_phone
from ..core.text import is_ordinary
from ..core.wallets import open_wallet
from .errors import AccountError, LoginThrottled
from .passwords import MAX_PASSWORD_BYTES, password_problem
from .web_sessions import EndReason, PrincipalKind, WebSessions

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["AccountService", "HANDLE_RULE", "MAX_FAILURES_PER_PHONE", "is_handle"]

_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,28})[a-z0-9]", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.ASCII)
MAX_NAME_CHARS = 80
THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_PHONE = 5
MAX_FAILURES_PER_IP = 20
#: What a payment handle may be (a shop's, and its stores': wallet.merchants.stores).
HANDLE_RULE = "Use 3 to 30 lowercase letters, digits and dashes, like chai-point."


def is_handle(handle: str) -> bool:
    """``handle`` (already lowercased) is a payment handle's shape."""
    return _HANDLE.fullmatch(handle) is not None


TAKEN = "This number already has an account. Log in instead."


@dataclass
class AccountService:
    dbsession: Session
    bcrypt_rounds: int = 12
    clock: Callable[[], dt.datetime] = utcnow

    def signup(self, phone: str, name: str, password: str) -> User:
        """An account at once (tests, demo data, the CLI): the pages and the
        API first prove the phone (wallet.identity.phone_flows.PhoneSignup)."""
        phone, name = self.check_signup(phone, name, password)
        return self.create_user(phone, name, self.hash_password(password))

    def check_signup(self, phone: str, name: str, password: str) -> tuple[str, str]:
        """The phone (E.164) and name of a sign-up, every field's problem
        raised at once (AccountError), a phone with an account included."""
        problems: dict[str, str] = {}
        try:
            phone = normalize_phone(phone)
        except InvalidPhone as exc:
            problems["phone"] = str(exc)
        name = unicodedata.normalize("NFC", (name or "").strip())
        if not name:
            problems["name"] = "Enter your name."
        elif len(name) > MAX_NAME_CHARS or not is_ordinary(name):
            problems["name"] = f"Use up to {MAX_NAME_CHARS} ordinary characters."
        weak = password_problem(password, (phone, name))
        if weak:
            problems["password"] = weak
        if "phone" not in problems and self.dbsession.scalar(
                select(User.id).where(User.phone == phone)) is not None:
            problems["phone"] = TAKEN
        if problems:
            raise AccountError.of_fields(problems)
        return phone, name

    def create_user(self, phone: str, name: str, password_hash: str) -> User:
        """The account and its wallet, for a sign-up already checked."""
        user = User(phone=phone, name=name, password_hash=password_hash, is_active=True,
                    created_at=self.clock())
        try:
            with self.dbsession.begin_nested():  # a concurrent sign-up may win the phone
                self.dbsession.add(user)
                self.dbsession.flush()
        except IntegrityError:
            raise AccountError(TAKEN, "phone") from None
        open_wallet(Ledger(self.dbsession, clock=self.clock), user)
        return user

    def signup_merchant(self, handle: str, name: str, email: str, password: str) -> Merchant:
        handle = (handle or "").strip().lower()
        email = (email or "").strip().lower()
        name = unicodedata.normalize("NFC", (name or "").strip())
        problems: dict[str, str] = {}
        if not _HANDLE.fullmatch(handle):
            problems["handle"] = ("Use 3 to 30 lowercase letters, digits and dashes, like "
                                  "chai-point.")
        if not name or len(name) > MAX_NAME_CHARS or not is_ordinary(name):
            # The same rule as people's names: no bidi overrides or control
            # characters, which could make the name read differently to customers.
            problems["name"] = (f"Enter the shop's name (up to {MAX_NAME_CHARS} ordinary "
                                "characters).")
        if len(email) > 254 or not _EMAIL.fullmatch(email):
            problems["email"] = "Enter an email address, like owner@shop.in."
        weak = password_problem(password, (handle, name, email, email.partition("@")[0]))
        if weak:
            problems["password"] = weak
        if problems:
            raise AccountError.of_fields(problems)
        if self.dbsession.scalar(select(User.id).where(User.handle == handle)) is not None:
            # A person's receive handle (/to/<handle>): a shop must not pose as them.
            raise AccountError("That handle or email is already taken.", "handle")
        merchant = Merchant(handle=handle, name=name, email=email, is_active=True,
                            password_hash=self.hash_password(password), created_at=self.clock())
        try:
            with self.dbsession.begin_nested():
                self.dbsession.add(merchant)
                self.dbsession.flush()
                # Every shop has a first store: its name and handle.
                self.dbsession.add(MerchantStore(merchant_id=merchant.id, name=name,
                                                 handle=handle, created_at=merchant.created_at))
                self.dbsession.flush()
        except IntegrityError:
            raise AccountError("That handle or email is already taken.", "handle") from None
        open_wallet(Ledger(self.dbsession, clock=self.clock), merchant)
        return merchant

    def authenticate_merchant(self, email: str, password: str, ip: str) -> Merchant:
        email = (email or "").strip().lower()[:254]
        # Throttled like users, on a key of its own (fits the 32-character column).
        key = "m:" + hashlib.sha256(email.encode()).hexdigest()[:24]
        self._check_throttle(key, ip)
        merchant = self.dbsession.scalar(select(Merchant).where(Merchant.email == email))
        stored = merchant.password_hash.encode() if merchant else _dummy_hash(self.bcrypt_rounds)
        matches = bcrypt.checkpw((password or "").encode()[:MAX_PASSWORD_BYTES], stored)
        if merchant is None or not matches or not merchant.is_active:
            self.dbsession.add(LoginAttempt(phone=key, ip=ip, created_at=self.clock()))
            raise AccountError("That email and password do not match.")
        self._clear_throttle(key)
        return merchant

    def change_password(self, user: User, current: str, new: str, repeat: str, ip: str, *,
                        keep_session_id: int | None = None) -> int:
        """A new password for a signed-in user who gave the current one
        (wrong ones are throttled and counted as log-ins are: commit the
        refusal). Every other session of theirs ends, other browsers and the
        phone app's tokens alike, but ``keep_session_id`` (the one asking).
        Returns how many ended."""
        self._check_new_password(new, repeat, (user.phone, user.name))
        _current_password(lambda: self.authenticate(user.phone, current, ip))
        # The sessions first: a request of one of them locks its row before
        # anything else (its check touches it), so they are taken in that order.
        ended = WebSessions(self.dbsession, policy=None, clock=self.clock).end_others(
            PrincipalKind.USER, user.id, EndReason.PASSWORD_CHANGED,
            keep_session_id=keep_session_id)
        user.password_hash = self.hash_password(new)
        return ended

    def change_merchant_password(self, merchant: Merchant, current: str, new: str, repeat: str,
                                 ip: str, *, keep_session_id: int | None = None) -> int:
        """:meth:`change_password` for a shop: its other sessions end (its
        secret API keys are the shop server's, not sessions: they stay)."""
        self._check_new_password(new, repeat, (merchant.handle, merchant.name, merchant.email,
                                               merchant.email.partition("@")[0]))
        _current_password(lambda: self.authenticate_merchant(merchant.email, current, ip))
        ended = WebSessions(self.dbsession, policy=None, clock=self.clock).end_others(
            PrincipalKind.MERCHANT, merchant.id, EndReason.PASSWORD_CHANGED,
            keep_session_id=keep_session_id)
        merchant.password_hash = self.hash_password(new)
        return ended

    @staticmethod
    def check_new_password(new: str, repeat: str, personal: tuple[str, ...]) -> None:
        """A new password typed twice, strong enough (AccountError naming the field)."""
        AccountService._check_new_password(new, repeat, personal)

    @staticmethod
    def _check_new_password(new: str, repeat: str, personal: tuple[str, ...]) -> None:
        problems: dict[str, str] = {}
        weak = password_problem(new, personal)
        if weak:
            problems["password"] = weak
        elif (repeat or "") != new:
            problems["repeat"] = "The two new passwords differ: type the same one twice."
        if problems:
            raise AccountError.of_fields(problems)

    def hash_password(self, password: str) -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.bcrypt_rounds)).decode()

    def check_password(self, stored_hash: str | None, password: str) -> bool:
        """Whether ``password`` is the one hashed in ``stored_hash``; with no
        hash (an unknown account), a check of the same cost all the same, so
        timing does not tell who has an account."""
        stored = stored_hash.encode() if stored_hash else _dummy_hash(self.bcrypt_rounds)
        matches = bcrypt.checkpw((password or "").encode()[:MAX_PASSWORD_BYTES], stored)
        return matches and stored_hash is not None

    def authenticate(self, phone_text: str, password: str, ip: str) -> User:
        """The user for these credentials, or AccountError (LoginThrottled when
        this phone or address failed too often lately)."""
        try:
            phone = normalize_phone(phone_text)
        except InvalidPhone:
            phone = (phone_text or "").strip()[:32]
        self._check_throttle(phone, ip)
        user = self.dbsession.scalar(select(User).where(User.phone == phone))
        password_bytes = (password or "").encode()[:MAX_PASSWORD_BYTES]
        # Hash even for unknown numbers, so timing does not reveal who has an account.
        stored = user.password_hash.encode() if user else _dummy_hash(self.bcrypt_rounds)
        matches = bcrypt.checkpw(password_bytes, stored)
        if user is None or not matches or not user.is_active:
            self.dbsession.add(LoginAttempt(phone=phone, ip=ip, created_at=self.clock()))
            raise AccountError("That phone number and password do not match.")
        self._clear_throttle(phone)
        return user

    def confirm_password(self, user: User, password: str, ip: str) -> None:
        """A signed-in user proves their password again (a forgotten PIN's
        reset): AccountError naming the password if wrong. Throttled as
        log-ins are but on a key of its own, so guesses here never lock the
        person out of signing in; commit the refusal (it counts)."""
        key = f"confirm:{user.id}"
        self._check_throttle(key, ip)
        stored = user.password_hash.encode()
        if not bcrypt.checkpw((password or "").encode()[:MAX_PASSWORD_BYTES], stored):
            self.dbsession.add(LoginAttempt(phone=key, ip=ip, created_at=self.clock()))
            raise AccountError("That is not your password.", "password")
        self._clear_throttle(key)

    # The same throttling for other log-ins (the operators' console), each on
    # a key of its own (at most 32 characters).
    def check_throttle(self, key: str, ip: str) -> None:
        """LoginThrottled when ``key`` or ``ip`` failed too often lately."""
        self._check_throttle(key, ip)

    def record_failure(self, key: str, ip: str) -> None:
        self.dbsession.add(LoginAttempt(phone=key, ip=ip, created_at=self.clock()))

    def clear_throttle(self, key: str) -> None:
        self._clear_throttle(key)

    def _clear_throttle(self, key: str) -> None:
        """A successful log-in resets the account's count (not the address's)."""
        self.dbsession.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
        self.dbsession.execute(delete(LoginAttempt).where(LoginAttempt.phone == key))

    def _reserve_attempt(self, key: str) -> int:
        """Count one more attempt for ``key`` in the current window, atomically;
        returns the count including this one."""
        now = self.clock()
        table = table_of(LoginThrottle)
        dialect = self.dbsession.get_bind().dialect.name
        insert: postgresql.Insert | sqlite.Insert
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            insert = pg_insert(table)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert
            insert = sqlite_insert(table)
        stale = table.c.window_start < bindparam("cutoff", now - THROTTLE_WINDOW,
                                                 type_=table.c.window_start.type)
        stmt = insert.values(key=key, window_start=now, attempts=1)
        upsert = stmt.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"attempts": case((stale, 1), else_=table.c.attempts + 1),
                  "window_start": case((stale, stmt.excluded.window_start),
                                       else_=table.c.window_start)},
        ).returning(table.c.attempts)
        attempts: int = self.dbsession.execute(upsert).scalar_one()
        return attempts

    def _check_throttle(self, phone: str, ip: str) -> None:
        since = self.clock() - THROTTLE_WINDOW
        by_ip = self.dbsession.execute(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.created_at >= since, LoginAttempt.ip == ip)).scalar_one()
        # Failed attempts before this one (this one is counted too, but may succeed).
        by_phone = self._reserve_attempt(phone) - 1
        if by_phone >= MAX_FAILURES_PER_PHONE or by_ip >= MAX_FAILURES_PER_IP:
            minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
            raise LoginThrottled(
                f"Too many failed attempts. Wait {minutes} minutes and try again."
            )


def _current_password(check: Callable[[], object]) -> None:
    """Run a log-in ``check`` of the current password; its refusal said as
    such (a throttle's refusal as it is)."""
    try:
        check()
    except LoginThrottled:
        raise
    except AccountError:
        raise AccountError("That is not your current password.", "current_password") from None


@functools.lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    """A hash of the same cost as real ones, checked when the phone is unknown."""
    return bcrypt.hashpw(b"not a real password", bcrypt.gensalt(rounds))
