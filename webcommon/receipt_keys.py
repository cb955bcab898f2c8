"""``GET /.well-known/wallet-receipt-keys.json``: the public halves of the keys
that sign payment receipts (wallet.money.receipt_keys), JWKS-like, for anyone
to check a receipt offline (docs/receipts.md). The user app and the API app
serve it: ``include_receipt_keys(config)``."""
from __future__ import annotations

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from . import wallet_settings

#: The keys change at a rotation, announced ahead as "next": an hour's cache is safe.
KEYS_MAX_AGE_S = 3600
PATH = "/.well-known/wallet-receipt-keys.json"


def published_keys(request: Request) -> Response:
    keys = wallet_settings(request).receipt_keys
    response = Response(json_body={"keys": []} if keys is None else keys.jwks(),
                        content_type="application/json", charset="utf-8")
    response.cache_control = f"public, max-age={KEYS_MAX_AGE_S}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # (anyone may verify)
    response.md5_etag()
    response.conditional_response = True
    return response


def include_receipt_keys(config: Configurator, permission: str | None = None) -> None:
    """The route and its view, open to all (``permission``: the app's word for that)."""
    config.add_route("receipt_keys", PATH)
    config.add_view(published_keys, route_name="receipt_keys", request_method="GET",
                    permission=permission)
