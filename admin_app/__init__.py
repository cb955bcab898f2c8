"""The operators' console ([app:admin], port 6548 in development): an
internal app for people who run the wallet. Operators sign in with a password
and a TOTP code; viewers read, operators act; every action goes through the
domain (wallet.operations.operator_actions) and lands in the append-only audit log.
Only addresses on the allow-list (``admin.allowed_networks``) are served."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router
from pyramid.tweens import INGRESS

from wallet.identity.web_sessions import PrincipalKind
from wallet.settings import resolve_settings
from webcommon import use_task_queue
from webcommon.security import include_sessions

from .settings import AdminSettings


def main(global_config: dict[str, Any] | None, **settings: Any) -> Router:
    settings = resolve_settings(global_config, settings)
    admin = AdminSettings.from_dict(settings)
    with Configurator(settings=settings) as config:
        config.registry["admin_settings"] = admin
        # First of all: an address off the allow-list gets a 403 and nothing else.
        config.add_tween("admin_app.security.allow_list_tween_factory", under=INGRESS,
                         over="webcommon.readable.refuse_unreadable_tween_factory")
        config.include("webcommon")
        config.include("webcommon.metrics")
        # (Shared security headers: include them here, next to webcommon.)
        use_task_queue(config)
        config.include("pyramid_jinja2")
        config.include(".templating")
        config.include(".routes")
        include_sessions(
            config, cookie_name=admin.cookie_name, kind=PrincipalKind.OPERATOR,
            salt="wallet.admin.session", secret_setting="admin.session_secret",
            idle_timeout_s=admin.idle_timeout_s, lifetime_s=admin.lifetime_s)
        config.scan(".views")
    return config.make_wsgi_app()
