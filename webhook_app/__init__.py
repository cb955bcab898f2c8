"""The bank-facing webhook app ([app:webhook]): deployed on its own and kept up."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.router import Router

from wallet.settings import resolve_settings
from webcommon.readable import json_unreadable
from webcommon.unavailable import json_unavailable


def banks_configured(request: Request) -> str:
    return "ok" if request.registry["banks"] else "no bank configured"


def main(global_config: dict[str, Any] | None, **settings: Any) -> Router:
    settings = resolve_settings(global_config, settings)
    with Configurator(settings=settings) as config:
        config.registry["readiness_checks"] = {"banks": banks_configured}
        config.include("webcommon")
        config.include("webcommon.metrics")
        config.registry["unavailable_response"] = json_unavailable  # banks read JSON
        config.registry["unreadable_response"] = json_unreadable
        config.include(".routes")
        config.scan(".views")
    return config.make_wsgi_app()
