"""The routes every page app shares: its static files, signing in and out, and
the account pages (the user app and the merchant app also: home, sign-up,
the password, the dashboard and the favicon)."""
from __future__ import annotations

from pyramid.config import Configurator


def add_account_routes(config: Configurator, static: str, *, self_service: bool) -> None:
    """``static``: the asset spec of the app's static folder; ``self_service``:
    people sign themselves up and change their own password (not operators)."""
    config.add_static_view("static", static, cache_max_age=3600)
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("account", "/account")
    config.add_route("account_sign_out_others", "/account/sign-out-others")
    if self_service:
        config.add_route("home", "/")
        config.add_route("signup", "/signup")
        config.add_route("account_password", "/account/password")
        config.add_route("dashboard", "/dashboard")
        config.add_route("favicon", "/favicon.ico")
