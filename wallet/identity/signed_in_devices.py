"""A user's devices: the browsers signed in to the user app (web sessions,
wallet.identity.web_sessions) and the phone apps holding an API token
(wallet.identity.api_tokens), listed together -- what browser on what system,
from which network (the address masked), where if we know, when last used,
which one is asking -- and each ended at once on request.

Where a device is: we keep no location database, so it is "not known"
unless a trusted front end tells us (none does yet); the list says so rather
than guess from an address.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from ..core.codes import utcnow
from ..core.credentials import TOUCH_EVERY
from ..core.models import User
from .models import ApiToken, WebSession
from .user_agents import Agent, mask_ip, read_user_agent
from .web_sessions import EndReason, PrincipalKind, SessionPolicy, WebSessions

__all__ = ["APP", "BROWSER", "Device", "Devices", "device_id", "is_device_id"]

BROWSER, APP = "web", "app"
#: A device's id in pages and the API: web_<session id> or app_<token id>.
_DEVICE_ID = re.compile(r"(web|app)_([0-9]{1,18})", re.ASCII)


def device_id(kind: str, record_id: int) -> str:
    return f"{kind}_{record_id}"


def is_device_id(text: str) -> bool:
    """Whether ``text`` is written as a device's id (web_12, app_3)."""
    return _DEVICE_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Device:
    id: str
    #: web (a browser's session) or app (a phone app's API token).
    kind: str
    #: What the user calls it: a token's device name, a browser's "Chrome 120 on Android 14".
    name: str
    agent: Agent
    #: The address at sign-in, masked (mask_ip); "" when not known.
    ip: str
    #: "City, Country" when known; None: not known.
    location: str | None
    signed_in_at: dt.datetime
    last_used_at: dt.datetime
    #: The device this request came from.
    current: bool


class Devices:
    def __init__(self, dbsession: Session, *, session_policy: SessionPolicy,
                 token_idle_s: float | None, clock: Callable[[], dt.datetime] = utcnow):
        """``session_policy``: the user app's (a browser's idle timeout);
        ``token_idle_s``: the API's idle timeout of tokens (None: where it is
        not known, tokens are listed until they expire or are revoked)."""
        self.db = dbsession
        self.session_policy = session_policy
        self.token_idle_s = token_idle_s
        self.clock = clock

    def of_user(self, user: User, *, current_session_id: int | None = None,
                current_token_id: int | None = None) -> list[Device]:
        """The user's live devices, the one asking first, then the most recently used."""
        now = self.clock()
        idle = now - dt.timedelta(seconds=self.session_policy.idle_s) - TOUCH_EVERY
        sessions = self.db.scalars(select(WebSession).where(
            WebSession.principal_kind == PrincipalKind.USER, WebSession.principal_id == user.id,
            WebSession.revoked_at.is_(None), WebSession.expires_at > now,
            WebSession.last_seen_at > idle))
        token_rules = [ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
                       ApiToken.expires_at > now]
        if self.token_idle_s is not None:
            token_rules.append(
                ApiToken.last_used_at > now - dt.timedelta(seconds=self.token_idle_s))
        tokens = self.db.scalars(select(ApiToken).where(*token_rules))
        found = [self._browser(s, s.id == current_session_id) for s in sessions]
        found += [self._app(t, t.id == current_token_id) for t in tokens]
        return sorted(found, key=lambda d: (not d.current, -d.last_used_at.timestamp(), d.id))

    def sign_out(self, user: User, device: str) -> bool:
        """End one of the user's devices at once (its next request is refused);
        False if it is not theirs, unknown or ended already."""
        matched = _DEVICE_ID.fullmatch(device or "")
        if matched is None:
            return False
        kind, record_id = matched[1], int(matched[2])
        now = self.clock()
        if kind == BROWSER:
            result = self.db.execute(
                update(WebSession).where(
                    WebSession.id == record_id, WebSession.principal_kind == PrincipalKind.USER,
                    WebSession.principal_id == user.id, WebSession.revoked_at.is_(None),
                    WebSession.expires_at > now)
                .values(revoked_at=now, revoked_reason=EndReason.ENDED_ELSEWHERE),
                execution_options={"synchronize_session": False})
        else:
            result = self.db.execute(
                update(ApiToken).where(ApiToken.id == record_id, ApiToken.user_id == user.id,
                                       ApiToken.revoked_at.is_(None),
                                       ApiToken.expires_at > now)
                .values(revoked_at=now), execution_options={"synchronize_session": False})
        return bool(cast(CursorResult[Any], result).rowcount)

    def sign_out_others(self, user: User, *, current_session_id: int | None = None,
                        current_token_id: int | None = None) -> int:
        """Every device of the user but the one asking ("sign out everywhere
        else"): WebSessions' rule. How many ended."""
        return WebSessions(self.db, policy=None, clock=self.clock).end_others(
            PrincipalKind.USER, user.id, EndReason.ENDED_ELSEWHERE,
            keep_session_id=current_session_id,
            keep_token_id=current_token_id)

    @staticmethod
    def _browser(record: WebSession, current: bool) -> Device:
        agent = read_user_agent(record.user_agent)
        return Device(device_id(BROWSER, record.id), BROWSER, str(agent), agent,
                      mask_ip(record.ip), None, record.created_at, record.last_seen_at, current)

    @staticmethod
    def _app(record: ApiToken, current: bool) -> Device:
        agent = read_user_agent(record.user_agent)
        return Device(device_id(APP, record.id), APP, record.device_name, agent,
                      mask_ip(record.ip), None, record.created_at, record.last_used_at, current)
