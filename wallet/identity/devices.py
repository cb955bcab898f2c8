"""The browsers a user signs in from: a sign-in from one not seen before for
this user is told to them, in the app's notifications and by SMS (after
commit), so a stolen password is noticed.

A browser is known by a long-lived cookie holding a random id (the page app
sets it); only the id's SHA-256 is kept (``known_devices``). A user's first
device (the browser they signed up in, or the first sign-in of an account
made before devices were recorded) is recorded without a notice: there is
nothing it could be new against.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.codes import IST, utcnow
from ..core.credentials import TOUCH_EVERY, secret_sha256
from ..core.models import User
from ..core.notifications import Notice, notify
from .models import KnownDevice
from .sms import SmsGateway, SmsMessage, send_after_commit

__all__ = ["KnownDevices", "is_device_id", "new_device_id"]

_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
MAX_USER_AGENT_CHARS = 200


def new_device_id() -> str:
    return secrets.token_urlsafe(32)


def is_device_id(value: object) -> bool:
    return isinstance(value, str) and _DEVICE_ID.fullmatch(value) is not None


def _browser(user_agent: str) -> str:
    """A short name of the browser for the notice ("Chrome on Android")."""
    ua = user_agent or ""
    browser = next((name for key, name in (("Edg/", "Edge"), ("Firefox/", "Firefox"),
                                           ("Chrome/", "Chrome"), ("Safari/", "Safari"))
                    if key in ua), "a browser")
    system = next((name for key, name in (("Android", "Android"), ("iPhone", "iPhone"),
                                          ("iPad", "iPad"), ("Windows", "Windows"),
                                          ("Mac OS", "a Mac"), ("Linux", "Linux"))
                   if key in ua), "")
    return f"{browser} on {system}" if system else browser


class KnownDevices:
    def __init__(self, dbsession: Session, *, gateway: SmsGateway,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.gateway = gateway
        self.clock = clock

    def signed_in(self, user: User, device_id: str, user_agent: str, *,
                  notify_new: bool = True) -> bool:
        """Record that ``user`` signed in from ``device_id``; True if it was
        new to them (then, unless it is their first or ``notify_new`` is off,
        they are told: a notification now, an SMS after commit)."""
        now = self.clock()
        digest = secret_sha256(device_id)
        known = self.db.scalars(select(KnownDevice).where(KnownDevice.user_id == user.id)).all()
        this = next((d for d in known if d.device_sha256 == digest), None)
        if this is not None:
            if now - this.last_seen_at >= TOUCH_EVERY:
                this.last_seen_at = now
            return False
        try:
            with self.db.begin_nested():  # (a twin sign-in of this browser may record it first)
                self.db.add(KnownDevice(user_id=user.id, device_sha256=digest,
                                        user_agent=(user_agent or "")[:MAX_USER_AGENT_CHARS],
                                        first_seen_at=now, last_seen_at=now))
                self.db.flush()
        except IntegrityError:
            return False
        if known and notify_new:
            self._tell(user, _browser(user_agent), now)
        return True

    def _tell(self, user: User, browser: str, now: dt.datetime) -> None:
        when = now.astimezone(IST).strftime("%d %b %Y, %H:%M")
        text = (f"New sign-in to your wallet from {browser} on {when} (India time). "
                "Not you? Reset your password now.")
        notify(self.db, user.id, Notice.NEW_DEVICE_SIGN_IN, text, now=now)
        send_after_commit(self.db, self.gateway, SmsMessage(user.phone, text))
