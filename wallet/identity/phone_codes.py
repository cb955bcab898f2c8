"""One-time codes sent by SMS to prove a phone: a sign-up, a forgotten
password, a forgotten PIN (the flows: wallet.identity.phone_flows).

A flow (``otp_codes``) is named by a random ``token`` (kept by the page's
session, or the API's ``verification_id``) and holds its current code as an
HMAC-SHA256 keyed by ``wallet.otp_secret`` and bound to the token: never the
code itself. A code:

- expires ``code_ttl_s`` after it was sent (the injected clock decides);
- is used once (``used``);
- allows ``max_tries`` wrong tries, counted on the row locked for the
  comparison; the last one kills the flow (``dead``: start again);
- is compared in constant time (``hmac.compare_digest``).

Sending is limited per phone: at most ``sends_per_hour`` codes in any hour
(every purpose, first codes and resends alike), and a resend no sooner than
``resend_after_s`` after the last. The SMS leaves after commit only
(wallet.identity.sms.send_after_commit).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.codes import OtpPurpose, OtpStatus, utcnow
from ..core.ini import ConfigurationError, check_secret
from .errors import CodeDead, CodeExpired, CodesThrottled, WrongCode
from .models import OtpCode
from .sms import SmsGateway, SmsMessage, send_after_commit

__all__ = ["DEVELOPMENT_OTP_SECRET", "OtpPolicy", "PhoneCodes", "code_mac", "otp_secret"]

#: Outside production, when ``wallet.otp_secret`` is not set.
DEVELOPMENT_OTP_SECRET = "development-only-otp-secret-never-use-in-production"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,48}", re.ASCII)
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class OtpPolicy:
    code_ttl_s: float = 600.0
    max_tries: int = 5
    sends_per_hour: int = 5
    resend_after_s: float = 60.0
    digits: int = 6
    #: The HMAC key of stored codes (``wallet.otp_secret``).
    secret: bytes = field(default=b"", repr=False)


def otp_secret(value: str, *, production: bool) -> bytes:
    """``wallet.otp_secret`` checked as every secret is (production: set,
    long, random, not a development value); outside production a missing one
    is the development secret."""
    if not (value or "").strip():
        if production:
            raise ConfigurationError("setting wallet.otp_secret is required in production "
                                     "(the key of one-time codes' hashes)")
        value = DEVELOPMENT_OTP_SECRET
    return check_secret(value, "wallet.otp_secret", production=production).encode()


def code_mac(secret: bytes, token: str, code: str) -> str:
    """What is stored of a code: its HMAC-SHA256, bound to its flow."""
    return hmac.new(secret, f"{token}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SentCode:
    """A flow's code just sent: what the page or the API tells (never the code)."""

    token: str
    expires_at: dt.datetime
    resend_at: dt.datetime


class PhoneCodes:
    def __init__(self, dbsession: Session, *, policy: OtpPolicy, gateway: SmsGateway,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.gateway = gateway
        self.clock = clock

    # ------------------------------------------------------------- sending

    def start(self, purpose: OtpPurpose, phone: str, *, user_id: int | None, send: bool,
              text: Callable[[str], str], signup_name: str | None = None,
              signup_password_hash: str | None = None) -> SentCode:
        """A new flow for ``phone`` (E.164) and its first code, texted after
        commit if ``send`` (a reset for a phone without an account is
        recorded and counted alike, but texts nobody). ``text(code)``: the SMS."""
        now = self.clock()
        self._check_sends(phone, now)
        token, code = secrets.token_urlsafe(24), self._new_code()
        row = OtpCode(token=token, purpose=purpose, phone=phone, user_id=user_id,
                      code_hash=code_mac(self._secret, token, code), status=OtpStatus.PENDING,
                      failed_tries=0, sends=1, created_at=now, sent_at=now,
                      expires_at=now + dt.timedelta(seconds=self.policy.code_ttl_s),
                      signup_name=signup_name, signup_password_hash=signup_password_hash)
        self.db.add(row)
        self.db.flush()
        if send:
            send_after_commit(self.db, self.gateway, SmsMessage(phone, text(code)))
        return self._sent(row)

    def resend(self, token: str, purpose: OtpPurpose, *, text: Callable[[str], str],
               user_id: int | None = None) -> SentCode:
        """A new code for a live flow (the old one stops working; its tries
        start afresh), no sooner than ``resend_after_s`` after the last."""
        row = self._live(token, purpose, user_id, allow_expired=True)
        now = self.clock()
        wait = row.sent_at + dt.timedelta(seconds=self.policy.resend_after_s) - now
        if wait > dt.timedelta(0):
            seconds = math.ceil(wait.total_seconds())
            raise CodesThrottled(f"A code was sent a moment ago. Ask again in {seconds} "
                                 "seconds.", seconds)
        self._check_sends(row.phone, now)
        code = self._new_code()
        row.code_hash = code_mac(self._secret, row.token, code)
        row.failed_tries, row.sends, row.sent_at = 0, row.sends + 1, now
        row.expires_at = now + dt.timedelta(seconds=self.policy.code_ttl_s)
        if row.user_id is not None or purpose == OtpPurpose.SIGNUP:
            send_after_commit(self.db, self.gateway, SmsMessage(row.phone, text(code)))
        return self._sent(row)

    # ------------------------------------------------------------ checking

    def check(self, token: str, purpose: OtpPurpose, code: str, *,
              user_id: int | None = None) -> OtpCode:
        """The flow if ``code`` is its current code: not yet used (call
        :meth:`use` once what it allows is done, so a refusal of the rest --
        a weak new password -- leaves the code usable). Else CodeRefused: a
        wrong code's try is counted on the row (commit the refusal), the last
        allowed one kills the flow."""
        row = self._live(token, purpose, user_id)
        code = re.sub(r"\s", "", code or "")
        if not (len(code) == self.policy.digits and code.isascii() and code.isdigit()):
            raise WrongCode(f"Enter the {self.policy.digits}-digit code we sent by SMS.")
        if not hmac.compare_digest(row.code_hash, code_mac(self._secret, row.token, code)):
            row.failed_tries += 1
            left = self.policy.max_tries - row.failed_tries
            if left <= 0:
                row.status = OtpStatus.DEAD
                raise CodeDead("Too many wrong codes: this one no longer works. Start again.")
            raise WrongCode(f"That is not the code we sent. {left} "
                            f"{'try' if left == 1 else 'tries'} left.")
        return row

    def use(self, row: OtpCode) -> None:
        row.status, row.used_at = OtpStatus.USED, self.clock()
        row.signup_password_hash = None  # (the account has it now, or never will)

    # ------------------------------------------------------------ inside

    @property
    def _secret(self) -> bytes:
        if not self.policy.secret:
            raise ConfigurationError("no wallet.otp_secret")
        return self.policy.secret

    def _new_code(self) -> str:
        return f"{secrets.randbelow(10 ** self.policy.digits):0{self.policy.digits}d}"

    def _sent(self, row: OtpCode) -> SentCode:
        return SentCode(row.token, row.expires_at,
                        row.sent_at + dt.timedelta(seconds=self.policy.resend_after_s))

    def _check_sends(self, phone: str, now: dt.datetime) -> None:
        """At most ``sends_per_hour`` codes to a phone in the last hour (a
        flow's sends all count while its last send is recent: never fewer)."""
        sent = self.db.scalar(select(func.coalesce(func.sum(OtpCode.sends), 0)).where(
            OtpCode.phone == phone, OtpCode.sent_at > now - HOUR)) or 0
        if sent >= self.policy.sends_per_hour:
            raise CodesThrottled("Too many codes were sent to this number in the last hour. "
                                 "Try again later.", 3600)

    def _live(self, token: str, purpose: OtpPurpose, user_id: int | None, *,
              allow_expired: bool = False) -> OtpCode:
        """The flow, locked (tries are counted one after another), if it may
        still take a code."""
        row = None
        if isinstance(token, str) and _TOKEN.fullmatch(token):
            row = self.db.scalar(select(OtpCode).where(
                OtpCode.token == token, OtpCode.purpose == purpose).with_for_update(key_share=True))
        if row is None or (user_id is not None and row.user_id != user_id):
            raise CodeDead("This code is no longer valid. Start again.")
        if row.status != OtpStatus.PENDING:
            raise CodeDead("This code was used, or had too many wrong tries. Start again.")
        if not allow_expired and self.clock() >= row.expires_at:
            raise CodeExpired("This code has expired. Ask for a new one.")
        return row
