"""The user app: ``main`` is its WSGI factory ([app:user] in the ini files).
Views parse forms, call the domain (``wallet``) and render; they hold no rules."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.router import Router
from sqlalchemy.orm import Session

from wallet.models import User
from wallet.settings import resolve_settings
from webcommon import use_pins, use_task_queue
from webcommon.security import include_sessions


def load_user(request: Request, user_id: int) -> User | None:
    dbsession: Session = request.dbsession
    return dbsession.get(User, user_id)


def main(global_config: dict[str, Any] | None, **settings: Any) -> Router:
    settings = resolve_settings(global_config, settings)
    with Configurator(settings=settings) as config:
        config.include("webcommon")
        config.include("webcommon.metrics")
        use_pins(config)
        use_task_queue(config)
        config.include("pyramid_jinja2")
        config.include(".templating")
        config.include(".routes")
        include_sessions(
            config,
            cookie_name=settings.get("wallet.session_cookie_name", "wallet_session"),
            identity_loader=load_user,
            session_key="user_id",
        )
        config.scan(".views")
    return config.make_wsgi_app()
