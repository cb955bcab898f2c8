"""Text messages to people's phones: one-time codes (wallet.identity.phone_codes)
and sign-in notices (wallet.identity.devices).

The domain says what to send through :class:`SmsGateway`; which gateway is
the setting ``wallet.sms_gateway``: a name of :data:`GATEWAYS` (``outbox``,
``msg91``) or ``module:factory``; a factory is called with the settings and
the database bind. Messages leave only after the transaction that decided
them commits (:func:`send_after_commit`): a refused or rolled-back request
texts nobody.

:class:`OutboxSmsGateway` is the development one: it writes each message to
``sms_outbox`` (shown by the user app's ``/dev/sms`` page when
``wallet.sms_outbox_page`` is on). It keeps codes in clear, so it is
``development_only``: production refuses it (wallet.settings), as it refuses
the outbox page.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from ..core.codes import utcnow
from ..core.ini import ConfigurationError
from ..core.tasks import after_commit
from .models import SmsOutbox

__all__ = ["GATEWAYS", "OutboxSmsGateway", "SmsGateway", "SmsMessage", "SmsUndelivered",
           "gateway_factory", "load_sms_gateway", "send_after_commit"]

log = logging.getLogger(__name__)

#: The gateways known by a short name (``wallet.sms_gateway``).
GATEWAYS = {
    "outbox": "wallet.identity.sms:OutboxSmsGateway",
    "msg91": "wallet.identity.sms_msg91:Msg91Gateway",
}
#: One SMS part is 160 GSM characters; ours stay within three.
MAX_SMS_CHARS = 480
Bind = Engine | Connection


@dataclass(frozen=True)
class SmsMessage:
    phone: str  # E.164
    text: str

    def __repr__(self) -> str:  # (a code is never written to a log)
        return f"SmsMessage(phone=...{self.phone[-4:]}, text=<{len(self.text)} chars>)"


class SmsUndelivered(Exception):
    """The provider did not take the message (an error answer, a timeout)."""


class SmsGateway(Protocol):
    """Sends one text message; raises SmsUndelivered if the provider refuses it."""

    name: str

    def send(self, message: SmsMessage, /) -> None: ...


GatewayFactory = Callable[[Mapping[str, Any], Bind | None], SmsGateway]


class OutboxSmsGateway:
    """Development and tests: every message is written to ``sms_outbox`` (in
    a transaction of its own: it runs after the request's commit)."""

    name = "outbox (development)"
    development_only = True

    def __init__(self, settings: Mapping[str, Any], bind: Bind | None) -> None:
        if bind is None:
            raise ConfigurationError("the SMS outbox needs the database")
        self.bind = bind

    def send(self, message: SmsMessage, /) -> None:
        with Session(self.bind) as session, session.begin():
            session.add(SmsOutbox(phone=message.phone, text=message.text[:MAX_SMS_CHARS],
                                  created_at=utcnow()))


def gateway_factory(spec: str) -> GatewayFactory:
    """The factory a short name or ``module:factory`` names (not called)."""
    module_name, _, attribute = GATEWAYS.get(spec, spec).partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"wallet.sms_gateway = {spec!r}: write one of "
                                 f"{', '.join(GATEWAYS)} or module:factory")
    try:
        factory: GatewayFactory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"wallet.sms_gateway = {spec!r} cannot be loaded: "
                                 f"{exc}") from None
    return factory


def load_sms_gateway(spec: str, settings: Mapping[str, Any], bind: Bind | None) -> SmsGateway:
    return gateway_factory(spec)(settings, bind)


def check_sms_gateway(spec: str, settings: Mapping[str, Any], *, production: bool) -> None:
    """At start-up: the gateway loads, production refuses a development one,
    and a gateway's own settings are checked (``check_settings``, if it has one)."""
    factory = gateway_factory(spec)
    if production and getattr(factory, "development_only", False):
        raise ConfigurationError(f"wallet.sms_gateway = {spec!r} only writes to an outbox: "
                                 "production needs a real SMS provider (e.g. msg91)")
    check: Callable[[Mapping[str, Any]], None] | None = getattr(factory, "check_settings", None)
    if check is not None:
        check(settings)


def send_after_commit(db: Session, gateway: SmsGateway, message: SmsMessage) -> None:
    """Send ``message`` once ``db``'s transaction commits (never if it rolls
    back). A provider's refusal is logged (without the text), not raised:
    what was committed stands, and the person can ask for another code."""
    def deliver() -> None:
        try:
            gateway.send(message)
        except Exception as exc:  # noqa: BLE001 - one SMS lost; the person asks again
            log.warning("SMS to ...%s not delivered by %s: %s", message.phone[-4:],
                        gateway.name, type(exc).__name__)

    after_commit(db, deliver)
