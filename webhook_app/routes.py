def includeme(config):
    config.add_route("bank_webhook", "/webhooks/{bank}")
