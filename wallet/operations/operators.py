"""Operators of the console: accounts made from the CLI, signed in with a
password AND a TOTP code from an authenticator app; roles.

A TOTP code is accepted once: the time step it belongs to is stored, and a
code of that step or an earlier one is refused (a replayed or shoulder-surfed
code), atomically, so two sign-ins racing with one code cannot both pass.
Guessing is throttled like users' log-ins (wallet.identity.accounts).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum, nonmember

import bcrypt
import pyotp
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.codes import utcnow
from ..core.models import Operator
from ..identity.accounts import AccountService, _dummy_hash
from ..identity.errors import AccountError
from ..identity.passwords import MAX_PASSWORD_BYTES

__all__ = ["MIN_OPERATOR_PASSWORD_CHARS", "NewOperator", "OperatorService", "Role"]

MIN_OPERATOR_PASSWORD_CHARS = 12
ISSUER = "Wallet console"
_NAME = re.compile(r"[a-z][a-z0-9._-]{1,39}", re.ASCII)
_CODE = re.compile(r"[0-9]{6}", re.ASCII)


class Role(StrEnum):
    """``operators.role``."""

    VIEWER = "viewer"  # reads everything
    OPERATOR = "operator"  # may act
    ALL = nonmember(("viewer", "operator"))

    @staticmethod
    def may_act(role: str) -> bool:
        return role == Role.OPERATOR


@dataclass(frozen=True)
class NewOperator:
    """An operator just made, with the TOTP secret: shown once, never again."""

    operator: Operator
    totp_secret: str

    @property
    def provisioning_uri(self) -> str:
        return pyotp.TOTP(self.totp_secret).provisioning_uri(
            name=self.operator.name, issuer_name=ISSUER)


@dataclass
class OperatorService:
    db: Session
    bcrypt_rounds: int = 12
    clock: Callable[[], dt.datetime] = utcnow

    def add(self, name: str, role: str, password: str) -> NewOperator:
        name = (name or "").strip().lower()
        if not _NAME.fullmatch(name):
            raise AccountError("An operator's name is 2 to 40 lowercase letters, digits, "
                               "dots, dashes or underscores, starting with a letter.", "name")
        if role not in Role.ALL:
            raise AccountError(f"The role is one of {', '.join(Role.ALL)}.", "role")
        if len(password or "") < MIN_OPERATOR_PASSWORD_CHARS:
            raise AccountError(f"Use at least {MIN_OPERATOR_PASSWORD_CHARS} characters.",
                               "password")
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            raise AccountError("That password is too long (72 bytes at most).", "password")
        secret = pyotp.random_base32()
        operator = Operator(
            name=name, role=role, totp_secret=secret, is_active=True, created_at=self.clock(),
            password_hash=bcrypt.hashpw(password.encode(),
                                        bcrypt.gensalt(self.bcrypt_rounds)).decode())
        try:
            with self.db.begin_nested():
                self.db.add(operator)
                self.db.flush()
        except IntegrityError:
            raise AccountError(f"There is already an operator {name}.", "name") from None
        return NewOperator(operator, secret)

    def authenticate(self, name: str, password: str, code: str, ip: str) -> Operator:
        """The operator for these credentials and this TOTP code, or
        AccountError (LoginThrottled after too many failures)."""
        name = (name or "").strip().lower()[:40]
        key = "op:" + hashlib.sha256(name.encode()).hexdigest()[:24]
        accounts = AccountService(self.db, bcrypt_rounds=self.bcrypt_rounds, clock=self.clock)
        accounts.check_throttle(key, ip)
        operator = self.db.scalar(select(Operator).where(Operator.name == name))
        stored = (operator.password_hash.encode() if operator
                  else _dummy_hash(self.bcrypt_rounds))
        matches = bcrypt.checkpw((password or "").encode()[:MAX_PASSWORD_BYTES], stored)
        if (operator is None or not matches or not operator.is_active
                or not self._use_code(operator, code)):
            accounts.record_failure(key, ip)
            raise AccountError("That name, password and code do not match.")
        accounts.clear_throttle(key)
        return operator

    def _use_code(self, operator: Operator, code: str) -> bool:
        """Whether ``code`` is the operator's current code (one step of clock
        drift either way) and its step was never used: then it is used now."""
        code = (code or "").strip().replace(" ", "")
        if not _CODE.fullmatch(code):
            return False
        totp = pyotp.TOTP(operator.totp_secret)
        now = self.clock()
        step_now = totp.timecode(now)
        step = next((s for s in (step_now - 1, step_now, step_now + 1)
                     if hmac.compare_digest(totp.generate_otp(s), code)), None)
        if step is None:
            return False
        used = self.db.execute(
            update(Operator)
            .where(Operator.id == operator.id,
                   or_(Operator.last_totp_step.is_(None), Operator.last_totp_step < step))
            .values(last_totp_step=step)
            .execution_options(synchronize_session=False))
        if used.rowcount != 1:  # type: ignore[attr-defined]
            return False  # this code (or a later one) was already used
        operator.last_totp_step = step
        return True

    def get(self, operator_id: int) -> Operator | None:
        return self.db.get(Operator, operator_id)
