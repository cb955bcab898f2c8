"""Health endpoints shared by the apps: /healthz (the process answers) and
/readyz (it can do its work).

/readyz answers 200 ``ready`` when every check passes; 200 ``degraded`` when
only a soft check fails (the task queue's Redis: requests still succeed, the
work they start waits for the workers' sweeps); 503 ``not ready`` when the
database or another hard check fails (a load balancer should send traffic
elsewhere). Apps add hard checks in ``readiness_checks`` and soft ones in
``degraded_checks`` (registry dicts of name -> ``check(request) -> "ok" | why``).
"""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError


def healthz(request: Request) -> dict[str, str]:
    return {"status": "ok"}


def database_check(request: Request) -> str:
    # A session of its own, outside the request's transaction: a failed
    # statement must not leave the request's session to be committed.
    try:
        with request.registry["dbsession_factory"]() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def readyz(request: Request) -> dict[str, Any]:
    hard = {"database": database_check, **request.registry.get("readiness_checks", {})}
    soft = request.registry.get("degraded_checks", {})
    checks = {name: check(request) for name, check in {**hard, **soft}.items()}
    if any(checks[name] != "ok" for name in hard):
        status, code = "not ready", 503
    elif any(checks[name] != "ok" for name in soft):
        status, code = "degraded", 200
    else:
        status, code = "ready", 200
    request.response.status = code
    return {"status": status, "checks": checks}


def includeme(config: Configurator) -> None:
    """Adds GET /healthz and /readyz (no CSRF, no login)."""
    config.add_route("healthz", "/healthz")
    config.add_route("readyz", "/readyz")
    config.add_view(healthz, route_name="healthz", renderer="json", require_csrf=False)
    config.add_view(readyz, route_name="readyz", renderer="json", require_csrf=False)
