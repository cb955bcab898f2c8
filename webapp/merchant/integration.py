"""Merchant app pages for integrating a shop's own server: API keys (made,
listed, revoked; a secret is shown once, on the page that made it) and the
checkout settings (the origins a payment request may send customers back
to). Thin: parse, call the domain, render."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import WalletError
from wallet.core.models import Merchant
from wallet.merchants.keys import MAX_LIVE_KEYS, MerchantKeys
from wallet.merchants.return_origins import set_return_origins
from wallet.merchants.roles import Permission
from wallet.merchants.staff import StaffAction
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from ..views.forms import field
from .acting import audit
from .modes import session_livemode


@view_defaults(permission=Permission.KEYS)
class IntegrationViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.merchant: Merchant = request.identity
        self.keys: MerchantKeys = request_services(request).merchant_keys

    # ------------------------------------------------------------- API keys

    def _keys_page(self, *, errors: dict[str, str] | None = None, name: str = "",
                   issued: str | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        if issued is not None:  # the secret is on this page only: keep it out of caches
            self.request.response.cache_control = "no-store"
        livemode = session_livemode(self.request)
        return {"keys": self.keys.of_merchant(self.merchant, livemode=livemode),
                "errors": errors or {}, "name": name, "issued": issued,
                "max_keys": MAX_LIVE_KEYS, "livemode": livemode, "here": "api_keys"}

    @view_config(route_name="api_keys", renderer="merchant/api_keys.jinja2",
                 request_method="GET")
    def api_keys(self) -> dict[str, Any]:
        return self._keys_page()

    @view_config(route_name="api_keys", renderer="merchant/api_keys.jinja2",
                 request_method="POST")
    def create_api_key(self) -> dict[str, Any]:
        name = field(self.request, "name")
        try:
            issued = self.keys.issue(self.merchant, name,
                                     livemode=session_livemode(self.request))
        except WalletError as exc:
            return self._keys_page(errors=exc.errors, name=name,
                                   status=400)
        audit(self.request, StaffAction.KEY_CREATED, f"key {issued.record.prefix}…",
              issued.record.name)
        return self._keys_page(issued=issued.secret)

    @view_config(route_name="api_key_revoke", request_method="POST")
    def revoke_api_key(self) -> Response:
        key_id = int(self.request.matchdict["id"])
        if not self.keys.revoke(self.merchant, key_id):
            raise HTTPNotFound()
        audit(self.request, StaffAction.KEY_REVOKED, f"key {key_id}")
        self.request.session.flash("Key revoked: it no longer works.")
        return HTTPSeeOther(self.request.route_url("api_keys"))

    # ------------------------------------------------------ checkout settings

    def _settings_page(self, *, errors: dict[str, str] | None = None,
                       origins: str | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        production = request_services(self.request).settings.production
        shown = self.merchant.return_origins if origins is None else origins
        return {"errors": errors or {}, "origins": "\n".join(shown.split()),
                "https_only": production}

    @view_config(route_name="checkout_settings", renderer="merchant/checkout_settings.jinja2",
                 request_method="GET", permission=Permission.SETTINGS)
    def checkout_settings(self) -> dict[str, Any]:
        return self._settings_page()

    @view_config(route_name="checkout_settings", renderer="merchant/checkout_settings.jinja2",
                 request_method="POST", permission=Permission.SETTINGS)
    def save_checkout_settings(self) -> dict[str, Any] | Response:
        text = self.request.POST.get("return_origins", "")
        text = text[:2000] if isinstance(text, str) else ""
        production = request_services(self.request).settings.production
        try:
            set_return_origins(self.merchant, text, https_only=production)
        except WalletError as exc:
            return self._settings_page(errors=exc.errors, origins=text,
                                       status=400)
        audit(self.request, StaffAction.SETTINGS, "checkout settings",
              "return origins: " + " ".join(text.split()))
        self.request.session.flash("Checkout settings saved.")
        return HTTPSeeOther(self.request.route_url("checkout_settings"))
