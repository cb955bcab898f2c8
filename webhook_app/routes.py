from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_route("bank_webhook", "/webhooks/{bank}")
