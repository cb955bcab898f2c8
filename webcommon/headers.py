"""Security headers on every answer of every app: a strict
Content-Security-Policy (scripts and styles from our own files only, never
inline; no framing), X-Frame-Options, X-Content-Type-Options, Referrer-Policy,
and HSTS in production. Apps include it with ``config.include("webcommon.headers")``
(``webcommon`` itself does). A view that needs another policy (the API's
Swagger page) sets its own Content-Security-Policy, which is kept.

Settings: ``wallet.hsts`` (default: on in production), ``wallet.hsts_max_age_s``.
"""
from __future__ import annotations

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from wallet.settings import as_bool, is_production

from .observability import Handler

# No form-action: the add-money and checkout forms end in a redirect to a bank
# or a shop, which form-action would block (Chromium checks redirects too).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
))
#: Swagger UI sets inline styles on its elements; still no inline script.
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")
DEFAULT_HSTS_MAX_AGE_S = 365 * 24 * 3600


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    hsts = as_bool(settings.get("wallet.hsts", is_production(settings)))
    max_age = int(settings.get("wallet.hsts_max_age_s", DEFAULT_HSTS_MAX_AGE_S))
    config.registry["wallet.security_headers"] = security_headers(hsts, max_age)
    config.add_tween("webcommon.headers.security_headers_tween_factory")


def security_headers(hsts: bool, max_age_s: int) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if hsts:
        headers["Strict-Transport-Security"] = f"max-age={max_age_s}; includeSubDomains"
    return headers


def security_headers_tween_factory(handler: Handler, registry: Registry) -> Handler:
    headers: dict[str, str] = registry["wallet.security_headers"]

    def tween(request: Request) -> Response:
        response = handler(request)
        for name, value in headers.items():
            if name not in response.headers:  # a view's own policy wins
                response.headers[name] = value
        return response

    return tween
