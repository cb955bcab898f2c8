"""Merchant app: the shop's stores (outlets). The list (each store's name,
handle, pay link, QR and status) for whoever sees payments; opening a store,
renaming one and closing one for whoever changes the shop's settings. Thin:
parse, call wallet.merchants.stores, render. Included by webapp.merchant."""
from __future__ import annotations

import io
from typing import Any

import segno
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import WalletError
from wallet.core.models import Merchant, MerchantStore
from wallet.merchants.errors import StoreNotFound
from wallet.merchants.stores import Stores
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from ..views.forms import field

ID = "{id:\\d{1,18}}"


def includeme(config: Configurator) -> None:
    config.add_route("stores", "/stores")
    config.add_route("store_qr", f"/stores/{ID}/qr.svg")
    config.add_route("store_rename", f"/stores/{ID}/rename")
    config.add_route("store_close", f"/stores/{ID}/close")
    config.scan(__name__)


def pay_url(request: Request, store: MerchantStore) -> str:
    return f"{request_services(request).settings.user_app_url}/pay/{store.handle}"


@view_defaults(renderer="merchant/stores.jinja2")
class StoreViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.merchant: Merchant = request.identity
        self.stores: Stores = request_services(request).stores

    def _page(self, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
              status: int = 200, store_errors: dict[int, str] | None = None) -> dict[str, Any]:
        self.request.response.status = status
        stores = self.stores.of_merchant(self.merchant)
        return {"stores": [(store, pay_url(self.request, store)) for store in stores],
                "first_id": stores[0].id if stores else None, "errors": errors or {},
                "values": values or {}, "store_errors": store_errors or {}}

    def _store(self) -> MerchantStore:
        try:
            return self.stores.get(self.merchant, self.request.matchdict["id"])
        except StoreNotFound:
            raise HTTPNotFound() from None

    @view_config(route_name="stores", request_method="GET",
                 permission="merchant:view_payments")
    def listing(self) -> dict[str, Any]:
        return self._page()

    @view_config(route_name="stores", request_method="POST", permission="merchant:settings")
    def open_store(self) -> dict[str, Any] | Response:
        values = {"name": field(self.request, "name"), "handle": field(self.request, "handle")}
        try:
            store = self.stores.open(self.merchant, values["name"], values["handle"])
        except WalletError as exc:
            return self._page(exc.errors, values, 400)
        self.request.session.flash(f"Store @{store.handle} is open: its QR is below.")
        return HTTPSeeOther(self.request.route_url("stores", _anchor=f"store-{store.id}"))

    @view_config(route_name="store_rename", request_method="POST",
                 permission="merchant:settings")
    def rename(self) -> dict[str, Any] | Response:
        store = self._store()
        try:
            self.stores.rename(self.merchant, store.id, field(self.request, "name"))
        except WalletError as exc:
            return self._page(status=400, store_errors={store.id: str(exc)})
        return HTTPSeeOther(self.request.route_url("stores", _anchor=f"store-{store.id}"))

    @view_config(route_name="store_close", request_method="POST",
                 permission="merchant:settings")
    def close(self) -> dict[str, Any] | Response:
        store = self._store()
        try:
            self.stores.close(self.merchant, store.id)
        except WalletError as exc:
            return self._page(status=409, store_errors={store.id: str(exc)})
        self.request.session.flash(f"Store @{store.handle} is closed: it takes no payments.")
        return HTTPSeeOther(self.request.route_url("stores", _anchor=f"store-{store.id}"))

    @view_config(route_name="store_qr", request_method="GET", renderer=None,
                 permission="merchant:view_payments")
    def qr(self) -> Response:
        """The store's QR: its pay link (as the shop's /qr.svg is the shop's)."""
        buffer = io.BytesIO()
        segno.make(pay_url(self.request, self._store()), error="m").save(
            buffer, kind="svg", scale=6, border=2)
        return Response(buffer.getvalue(), content_type="image/svg+xml")
