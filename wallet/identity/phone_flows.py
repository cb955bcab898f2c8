"""What a code sent to the phone allows (wallet.identity.phone_codes):

- :class:`PhoneSignup`: name, phone and password, then the code: the account
  is made only then (an account never exists unverified; until the code
  comes back, the name and the password's bcrypt hash wait in the flow).
- :class:`PasswordRecovery`: a forgotten password. The answer to "send a code
  to this phone" is the same whether or not the phone has an account (a flow
  is recorded and counted either way; only an account's phone is texted),
  then the code and a new password end every session and API token.
- :class:`PinRecovery`: a forgotten wallet PIN, for a signed-in user: a code
  to their phone instead of their password.

The pages and the API call these alike.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.codes import OtpPurpose, utcnow
from ..core.models import User
from ..core.phone import InvalidPhone, normalize_phone
from .accounts import AccountService
from .errors import AccountError, CodeDead
from .phone_codes import PhoneCodes, SentCode
from .pins import Pins
from .web_sessions import EndReason, PrincipalKind, WebSessions

__all__ = ["PasswordRecovery", "PhoneSignup", "PinRecovery"]


def _code_text(what: str, minutes: int) -> Callable[[str], str]:
    def text(code: str) -> str:
        return (f"{code} is your wallet code to {what}. It expires in {minutes} minutes. "
                "Never share it: we will never ask for it.")
    return text


def _minutes(codes: PhoneCodes) -> int:
    return max(1, round(codes.policy.code_ttl_s / 60))


@dataclass
class PhoneSignup:
    db: Session
    codes: PhoneCodes
    accounts: AccountService

    def start(self, phone: str, name: str, password: str) -> SentCode:
        """Check the sign-up (AccountError with every field's problem), then
        text a code to the phone."""
        phone, name = self.accounts.check_signup(phone, name, password)
        return self.codes.start(OtpPurpose.SIGNUP, phone, user_id=None, send=True,
                                text=self._text, signup_name=name,
                                signup_password_hash=self.accounts.hash_password(password))

    def resend(self, token: str) -> SentCode:
        return self.codes.resend(token, OtpPurpose.SIGNUP, text=self._text)

    def finish(self, token: str, code: str) -> User:
        """The account, once the code is right (CodeRefused otherwise)."""
        row = self.codes.check(token, OtpPurpose.SIGNUP, code)
        if row.signup_name is None or row.signup_password_hash is None:
            raise CodeDead("This sign-up can no longer be finished. Start again.")
        user = self.accounts.create_user(row.phone, row.signup_name, row.signup_password_hash)
        self.codes.use(row)
        return user

    @property
    def _text(self) -> Callable[[str], str]:
        return _code_text("create your account", _minutes(self.codes))


@dataclass
class PasswordRecovery:
    db: Session
    codes: PhoneCodes
    accounts: AccountService
    clock: Callable[[], dt.datetime] = utcnow

    def start(self, phone_text: str) -> SentCode:
        """A code to the phone if it has an (active) account; the same answer
        if not. AccountError only for what is not a phone number at all."""
        try:
            phone = normalize_phone(phone_text)
        except InvalidPhone as exc:
            raise AccountError(str(exc), "phone") from None
        user = self.db.scalar(select(User).where(User.phone == phone))
        known = user is not None and user.is_active
        return self.codes.start(OtpPurpose.PASSWORD_RESET, phone,
                                user_id=user.id if known and user else None, send=known,
                                text=self._text)

    def resend(self, token: str) -> SentCode:
        return self.codes.resend(token, OtpPurpose.PASSWORD_RESET, text=self._text)

    def finish(self, token: str, code: str, password: str, repeat: str) -> User:
        """The new password once the code is right: every session and API
        token of the account ends. The password's strength is judged after
        the code (it names the account's name: nobody without the code may
        probe it); a weak one leaves the code usable."""
        row = self.codes.check(token, OtpPurpose.PASSWORD_RESET, code)
        user = None if row.user_id is None else self.db.get(User, row.user_id)
        if user is None:  # (no account: nobody was texted a code; never reached by chance)
            raise CodeDead("This code is no longer valid. Start again.")
        AccountService.check_new_password(password, repeat, (user.phone, user.name))
        WebSessions(self.db, policy=None, clock=self.clock).end_all(
            PrincipalKind.USER, user.id, EndReason.PASSWORD_RESET)
        user.password_hash = self.accounts.hash_password(password)
        self.accounts.clear_throttle(user.phone)
        self.codes.use(row)
        return user

    @property
    def _text(self) -> Callable[[str], str]:
        return _code_text("reset your password", _minutes(self.codes))


@dataclass
class PinRecovery:
    db: Session
    codes: PhoneCodes
    pins: Pins

    def start(self, user: User) -> SentCode:
        return self.codes.start(OtpPurpose.PIN_RESET, user.phone, user_id=user.id, send=True,
                                text=self._text)

    def resend(self, user: User, token: str) -> SentCode:
        return self.codes.resend(token, OtpPurpose.PIN_RESET, text=self._text,
                                 user_id=user.id)

    def finish(self, user: User, token: str, code: str, pin: str, repeat: str, *,
               keep_session_id: int | None = None) -> None:
        """A new PIN once the code is right (as Pins.reset with the password:
        a lock ends, every other session ends). A refused PIN leaves the code usable."""
        row = self.codes.check(token, OtpPurpose.PIN_RESET, code, user_id=user.id)
        self.pins.reset(user, pin, repeat, keep_session_id=keep_session_id)
        self.codes.use(row)

    @property
    def _text(self) -> Callable[[str], str]:
        return _code_text("reset your wallet PIN", _minutes(self.codes))
