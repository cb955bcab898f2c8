from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "webapp:static", cache_max_age=3600)
    config.add_route("home", "/")
    config.add_route("signup", "/signup")
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("account", "/account")
    config.add_route("account_password", "/account/password")
    config.add_route("account_sign_out_others", "/account/sign-out-others")
    config.add_route("dashboard", "/dashboard")
    config.add_route("favicon", "/favicon.ico")
    config.add_route("payments", "/payments")
    config.add_route("payments_csv", "/payments.csv")
    config.add_route("qr", "/qr.svg")
    config.add_route("payment", "/payments/{id:\\d{1,18}}")
    # Integrating the shop's own server.
    config.add_route("api_keys", "/api-keys")
    config.add_route("api_key_revoke", "/api-keys/{id:\\d{1,18}}/revoke")
    config.add_route("checkout_settings", "/settings/checkout")
