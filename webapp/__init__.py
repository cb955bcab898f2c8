"""The user app: ``main`` is its WSGI factory ([app:user] in the ini files).
Views parse forms, call the domain (``wallet``) and render; they hold no rules."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router

from wallet.identity.web_sessions import PrincipalKind
from wallet.settings import ConfigurationError, WalletSettings, resolve_settings
from webcommon import use_pins, use_task_queue
from webcommon.security import include_sessions


def main(global_config: dict[str, Any] | None, **settings: Any) -> Router:
    settings = resolve_settings(global_config, settings)
    with Configurator(settings=settings) as config:
        config.include("webcommon")
        config.include("webcommon.metrics")
        use_pins(config)
        use_task_queue(config)
        require_passkeys(config)
        config.include("pyramid_jinja2")
        config.include(".templating")
        config.include(".routes")
        include_sessions(
            config,
            cookie_name=settings.get("wallet.session_cookie_name", "wallet_session"),
            kind=PrincipalKind.USER,
        )
        config.scan(".views")
    return config.make_wsgi_app()


def require_passkeys(config: Configurator) -> None:
    """Production signs people in with passkeys: it names their relying party
    (the domain and origin they are made for), never guessed from a request."""
    settings: WalletSettings = config.registry["wallet_settings"]
    if settings.production and settings.passkeys is None:
        raise ConfigurationError("settings wallet.webauthn_rp_id and wallet.webauthn_origin "
                                 "are required in production (docs/deploy.md)")
