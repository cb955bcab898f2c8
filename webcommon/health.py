"""Health endpoints shared by the apps: /healthz (the process answers) and
/readyz (it can do its work: the database answers, and whatever else the app
adds, e.g. the webhook app's bank registry)."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError


def healthz(request: Request) -> dict[str, str]:
    return {"status": "ok"}


def readyz(request: Request) -> dict[str, Any]:
    checks: dict[str, str] = {}
    try:
        request.dbsession.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    for name, check in request.registry.get("readiness_checks", {}).items():
        checks[name] = check(request)
    ready = all(value == "ok" for value in checks.values())
    request.response.status = 200 if ready else 503
    return {"status": "ready" if ready else "not ready", "checks": checks}


def includeme(config: Configurator) -> None:
    """Adds GET /healthz and /readyz (no CSRF, no login)."""
    config.add_route("healthz", "/healthz")
    config.add_route("readyz", "/readyz")
    config.add_view(healthz, route_name="healthz", renderer="json", require_csrf=False)
    config.add_view(readyz, route_name="readyz", renderer="json", require_csrf=False)
