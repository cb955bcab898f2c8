"""The merchant app ([app:merchant]): its own WSGI app, sessions and cookie."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router

from wallet.identity.web_sessions import PrincipalKind
from wallet.settings import resolve_settings
from webcommon import use_task_queue
from webcommon.security import include_sessions

from .acting import landing_url


def main(global_config: dict[str, Any] | None, **settings: Any) -> Router:
    settings = resolve_settings(global_config, settings)
    with Configurator(settings=settings) as config:
        config.registry["nav"] = "merchant"
        config.include("webcommon")
        config.include("webcommon.metrics")
        use_task_queue(config)
        config.include("pyramid_jinja2")
        config.include("webapp.templating")
        config.include(".routes")
        include_sessions(
            config,
            cookie_name=settings.get("wallet.merchant_cookie_name", "wallet_merchant"),
            kind=PrincipalKind.MERCHANT,
            salt="wallet.merchant.session",
            other_kinds=(PrincipalKind.STAFF,),  # the people of a shop (wallet.merchants.staff)
        )
        config.scan(".views")
        config.scan(".integration")
        config.include(".webhook_views")  # its routes, views and the dashboard's notice
        config.include(".settlement_views")  # settling, and the registered bank accounts
        config.include(".pin_views")  # the shop PIN, the shop's notices
        config.include(".mandate_views")  # AutoPay mandates and their debits
        config.include(".dispute_views")  # disputes of payments: accept or contest
        config.include(".receipt_views")  # the counter's check of a payment receipt
        config.include(".store_views")  # the shop's stores: list, open, rename, close
        config.include(".link_views")  # payment links: make, share, cancel
        config.include(".modes")  # the Test/Live switch (test mode)
        config.include(".request_views")  # payment requests, in the switch's mode
        config.include(".auto_settlement_views")  # automatic settlement, history, reports
        config.include(".staff_views")  # the shop's people, their roles; invitations
        config.registry["landing"] = landing_url  # where a person starts (by their role)
        config.include(".counter_views")  # the counter: payments announced as they come
        config.scan("webapp.views.default")  # not-found, forbidden, bad CSRF pages
        config.scan("webapp.views.account")  # password, sign out everywhere else
    return config.make_wsgi_app()
