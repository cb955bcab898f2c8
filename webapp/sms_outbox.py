"""Development only: ``/dev/sms``, the SMS the outbox gateway "sent"
(wallet.identity.sms.OutboxSmsGateway), newest first, so a developer (or a
browser test) can read a sign-up's code. Added only with
``wallet.sms_outbox_page = true``, which production refuses (wallet.settings)."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import select

from wallet.identity.models import SmsOutbox
from wallet.settings import WalletSettings

MAX_LISTED = 50


def sms_outbox_page(request: Request) -> dict[str, Any]:
    messages = request.dbsession.scalars(
        select(SmsOutbox).order_by(SmsOutbox.id.desc()).limit(MAX_LISTED)).all()
    return {"messages": messages}


def include_sms_outbox_page(config: Configurator) -> None:
    settings: WalletSettings = config.registry["wallet_settings"]
    if not settings.sms_outbox_page:
        return
    config.add_route("dev_sms", "/dev/sms")
    config.add_view(sms_outbox_page, route_name="dev_sms", renderer="dev_sms.jinja2",
                    request_method="GET")
