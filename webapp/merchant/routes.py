from pyramid.config import Configurator

from webcommon.routes import add_account_routes


def includeme(config: Configurator) -> None:
    add_account_routes(config, "webapp:static", self_service=True)
    config.add_route("payments", "/payments")
    config.add_route("payments_csv", "/payments.csv")
    config.add_route("qr", "/qr.svg")
    config.add_route("payment", "/payments/{id:\\d{1,18}}")
    # Integrating the shop's own server.
    config.add_route("api_keys", "/api-keys")
    config.add_route("api_key_revoke", "/api-keys/{id:\\d{1,18}}/revoke")
    config.add_route("checkout_settings", "/settings/checkout")
