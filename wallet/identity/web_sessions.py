"""Signed-in sessions of the page apps (the user app, the merchant app, the
operators' console), kept on the server so that they can be ended.

The browser's signed cookie carries only a random token; the record here
(``web_sessions``, keyed by the token's SHA-256) says whose session it is and
whether it still lives. A session ends:

- when its owner signs out (the record is revoked: a copy of the cookie made
  before is refused from then on);
- at its absolute expiry (``SessionPolicy.lifetime_s`` after sign-in), however
  active it is, and after ``idle_s`` without a request;
- when its owner signs out everywhere else, changes the password or resets
  the wallet PIN (every other session of theirs ends; a user's API tokens too);
- when its owner is disabled (the principal's ``is_active`` is read with it).

A person of a shop (wallet.merchants.staff) signs in as a principal of kind
``staff``: their read brings their shop and stores too, and their removal
ends their sessions (``end_all``; their status is read with each request).

Checking a session costs one indexed read per request, joined with its
principal (which the apps need anyway), plus a ``last_seen_at`` write at most
once a minute.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, String, bindparam, delete, func, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session, contains_eager, with_expression
from sqlalchemy.orm.attributes import set_committed_value

from ..core.codes import utcnow
from ..core.credentials import TOUCH_EVERY, due_for_touch, new_secret, secret_sha256
from ..core.models import Merchant, MerchantStaff, MerchantStaffStore, Operator, User
from .models import ApiToken, WebSession

__all__ = ["EndReason", "LiveSession", "Principal", "PrincipalKind", "SessionPolicy",
           "StartedSession", "WebSessions"]

#: The cookie's token: 43 URL-safe characters (secrets.token_urlsafe(32)).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
#: Ended and expired records are kept this long (a future "recent sign-ins" list), then purged.
KEEP_FOR = dt.timedelta(days=30)
MAX_USER_AGENT_CHARS = 200
MAX_IP_CHARS = 64

Principal = User | Merchant | Operator | MerchantStaff


class PrincipalKind:
    USER = "user"
    MERCHANT = "merchant"
    OPERATOR = "operator"
    #: A person of a shop (wallet.merchants.staff) in the merchant app.
    STAFF = "staff"
    ALL = (USER, MERCHANT, OPERATOR, STAFF)


_MODELS: dict[str, type[User] | type[Merchant] | type[Operator] | type[MerchantStaff]] = {
    PrincipalKind.USER: User, PrincipalKind.MERCHANT: Merchant,
    PrincipalKind.OPERATOR: Operator, PrincipalKind.STAFF: MerchantStaff}


class EndReason:
    """Why a session was ended (``web_sessions.revoked_reason``)."""

    SIGNED_OUT = "signed_out"
    SIGNED_IN_AGAIN = "signed_in_again"  # a new sign-in in the same browser
    ENDED_ELSEWHERE = "ended_elsewhere"  # "sign out everywhere else"
    PASSWORD_CHANGED = "password_changed"
    PIN_RESET = "pin_reset"
    ACCOUNT_DISABLED = "account_disabled"  # e.g. a member of staff removed
    BY_OPERATOR = "ended_by_operator"  # support, for a stolen device
    PASSWORD_RESET = "password_reset"  # a forgotten password reset with a code by SMS


@dataclass(frozen=True)
class SessionPolicy:
    #: The absolute lifetime of a session, from sign-in.
    lifetime_s: float = 12 * 3600.0
    #: Ended after this long without a request (the cookie also says so).
    idle_s: float = 30 * 60.0


@dataclass(frozen=True)
class StartedSession:
    token: str  # for the cookie only: never stored
    record: WebSession


@dataclass(frozen=True)
class LiveSession:
    record: WebSession
    principal: Principal


@functools.cache
def _session_lookup(kind: str) -> Select[WebSession, Any]:
    """A session of ``kind`` by its token's hash (bound parameter
    ``token_sha256``) with its principal: built once per kind, each request
    binds its value (every page request runs it)."""
    model = _MODELS[kind]
    stmt = (select(WebSession, model).join(model, model.id == WebSession.principal_id)
            .where(WebSession.token_sha256 == bindparam("token_sha256"),
                   WebSession.principal_kind == kind))
    if kind == PrincipalKind.STAFF:
        # A person of a shop: the shop (is it active? the pages act on it) and
        # their stores, in the same statement, so still one read per request.
        stores = (select(func.aggregate_strings(sql_cast(MerchantStaffStore.store_id, String),
                                                ","))
                  .where(MerchantStaffStore.staff_id == MerchantStaff.id).scalar_subquery())
        stmt = (stmt.join(MerchantStaff.merchant)
                .options(contains_eager(MerchantStaff.merchant),
                         with_expression(MerchantStaff.store_list, stores)))
    return stmt


class WebSessions:
    def __init__(self, dbsession: Session, *, policy: SessionPolicy | None,
                 clock: Callable[[], dt.datetime] = utcnow):
        """``policy``: the web layer's (webcommon); None where sessions are only
        ended or purged (a PIN or password reset, an operator, housekeeping)."""
        self.db = dbsession
        self._policy = policy
        self.clock = clock

    @property
    def policy(self) -> SessionPolicy:
        if self._policy is None:
            raise TypeError("sessions are started and checked with the web layer's policy")
        return self._policy

    def start(self, kind: str, principal_id: int, *, user_agent: str = "",
              ip: str = "") -> StartedSession:
        """A new session for the principal just signed in."""
        _check_kind(kind)
        token = new_secret("")
        now = self.clock()
        record = WebSession(
            token_sha256=secret_sha256(token), principal_kind=kind, principal_id=principal_id,
            created_at=now, last_seen_at=now,
            expires_at=now + dt.timedelta(seconds=self.policy.lifetime_s),
            user_agent=_summary(user_agent, MAX_USER_AGENT_CHARS), ip=_summary(ip, MAX_IP_CHARS))
        self.db.add(record)
        self.db.flush()
        return StartedSession(token, record)

    def authenticate(self, kind: str, token: object) -> LiveSession | None:
        """The live session of this token and its active principal, or None:
        unknown, of another kind, ended, expired, idle too long, or its
        principal disabled. One indexed read (and a write at most once a minute)."""
        if kind not in _MODELS or not isinstance(token, str) or not _TOKEN.fullmatch(token):
            return None
        found = self.db.execute(_session_lookup(kind),
                                {"token_sha256": secret_sha256(token)}).first()
        if found is None:
            return None
        record = found[0]
        principal = cast(Principal, found[1])
        now = self.clock()
        if not self._alive(record, now) or not principal.is_active:
            return None
        if due_for_touch(record.last_seen_at, now):
            # Only when it moved on: one UPDATE a minute per session, not per request.
            self.db.execute(update(WebSession).where(WebSession.id == record.id)
                            .values(last_seen_at=now),
                            execution_options={"synchronize_session": False})
            set_committed_value(record, "last_seen_at", now)  # (not a change to flush)
        return LiveSession(record, principal)

    def _alive(self, record: WebSession, now: dt.datetime) -> bool:
        # last_seen_at lags a request by up to TOUCH_EVERY: allow for it.
        idle_until = record.last_seen_at + dt.timedelta(seconds=self.policy.idle_s) + TOUCH_EVERY
        return record.revoked_at is None and now < record.expires_at and now < idle_until

    def end(self, kind: str, token: object, reason: str = EndReason.SIGNED_OUT) -> bool:
        """End the session of this token (signing out); False if it was not live."""
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            return False
        return bool(self._revoke(reason, WebSession.token_sha256 == secret_sha256(token),
                                 WebSession.principal_kind == kind))

    def end_others(self, kind: str, principal_id: int, reason: str, *,
                   keep_session_id: int | None = None,
                   keep_token_id: int | None = None) -> int:
        """End every session of the principal but ``keep_session_id`` (the one
        asking, if any); a user's API tokens too, but ``keep_token_id``.
        Returns how many were ended."""
        _check_kind(kind)
        conditions = [WebSession.principal_kind == kind, WebSession.principal_id == principal_id]
        if keep_session_id is not None:
            conditions.append(WebSession.id != keep_session_id)
        ended = self._revoke(reason, *conditions)
        if kind == PrincipalKind.USER:
            ended += self._revoke_api_tokens(principal_id, keep_token_id)
        return ended

    def end_all(self, kind: str, principal_id: int, reason: str) -> int:
        """End every session of the principal (a disabled account, staff removed)."""
        return self.end_others(kind, principal_id, reason)

    def count_others(self, kind: str, principal_id: int, current_id: int | None) -> int:
        """How many other live sessions the principal has (for the account page)."""
        now = self.clock()
        idle_cutoff = now - dt.timedelta(seconds=self.policy.idle_s) - TOUCH_EVERY
        found = self.db.scalar(
            select(func.count()).select_from(WebSession)
            .where(WebSession.principal_kind == kind, WebSession.principal_id == principal_id,
                   WebSession.id != (current_id if current_id is not None else -1),
                   WebSession.revoked_at.is_(None), WebSession.expires_at > now,
                   WebSession.last_seen_at > idle_cutoff))
        return int(found or 0)

    def purge(self) -> int:
        """Forget sessions that expired more than KEEP_FOR ago (housekeeping)."""
        result = self.db.execute(delete(WebSession).where(
            WebSession.expires_at < self.clock() - KEEP_FOR))
        return int(cast(CursorResult[Any], result).rowcount or 0)

    def _revoke(self, reason: str, *conditions: Any) -> int:
        result = self.db.execute(
            update(WebSession).where(WebSession.revoked_at.is_(None),
                                     WebSession.expires_at > self.clock(), *conditions)
            .values(revoked_at=self.clock(), revoked_reason=reason),
            execution_options={"synchronize_session": False})
        return int(cast(CursorResult[Any], result).rowcount or 0)

    def _revoke_api_tokens(self, user_id: int, keep_token_id: int | None) -> int:
        conditions = [ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
                      ApiToken.expires_at > self.clock()]
        if keep_token_id is not None:
            conditions.append(ApiToken.id != keep_token_id)
        result = self.db.execute(update(ApiToken).where(*conditions)
                                 .values(revoked_at=self.clock()),
                                 execution_options={"synchronize_session": False})
        return int(cast(CursorResult[Any], result).rowcount or 0)


def _check_kind(kind: str) -> None:
    if kind not in _MODELS:
        raise ValueError(f"not a kind of principal: {kind!r}")


def _summary(text: str, limit: int) -> str:
    """Printable ASCII, cut at ``limit``: shown in a list one day, never trusted."""
    return "".join(c for c in (text or "") if " " <= c <= "~")[:limit]
