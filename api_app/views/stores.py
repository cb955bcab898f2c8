"""A shop's stores (outlets), for shops' servers: list them, to name one when
creating a payment request (``store`` or ``store_id``). Opening, renaming and
closing stores is done in the merchant app (wallet.merchants.stores). Stores
are the shop's configuration, shared by both modes (as webhook endpoints):
a test key and a live key list the same stores, and a test payment request
can name any of them."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request

from wallet.core.models import Merchant
from webcommon import request_services
from webcommon.views import view_config

from .. import render

#: The user app's page that pays a store by its handle.
PAY_PATH = "/pay/{handle}"


@view_config(route_name="stores", request_method="GET", openapi=True, renderer="json",
             permission="merchant:view_payments")
def list_stores(request: Request) -> Any:
    merchant: Merchant = request.identity
    services = request_services(request)
    base = services.settings.user_app_url
    return {"items": [render.store(store, pay_url=base + PAY_PATH.format(handle=store.handle))
                      for store in services.stores.of_merchant(merchant)]}
