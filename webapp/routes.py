from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "webapp:static", cache_max_age=3600)
    config.add_route("home", "/")
    config.add_route("signup", "/signup")
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("dashboard", "/dashboard")
    config.add_route("send", "/send")
    config.add_route("add_money", "/add-money")
    config.add_route("deposit", "/deposits/{token:[A-Za-z0-9_-]{16,64}}")
    config.add_route("pay", "/pay")
    config.add_route("pay_merchant", "/pay/{handle}")
    config.add_route("withdraw", "/withdraw")
    config.add_route("withdrawal", "/withdrawals/{id:\\d{1,18}}")
    config.add_route("transactions", "/transactions")
    config.add_route("transaction", "/transactions/{id:\\d{1,18}}")
    config.add_route("statement", "/statement")
    config.add_route("checkout", "/checkout/{id}")
