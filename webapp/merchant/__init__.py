"""The merchant app ([app:merchant]): its own WSGI app, sessions and cookie."""
from pyramid.config import Configurator

from ..settings import resolve_settings


def load_merchant(request, merchant_id):
    from ..models import Merchant

    return request.dbsession.get(Merchant, merchant_id)


def main(global_config, **settings):
    settings = resolve_settings(global_config, settings)
    with Configurator(settings=settings) as config:
        from ..banks import load_banks

        config.registry["banks"] = load_banks(settings)
        config.registry["nav"] = "merchant"
        import huey_tasks  # settlements are queued for the same workers

        huey_tasks.configure(settings)
        config.include("pyramid_jinja2")
        config.include("webapp.templating")
        config.include("webapp.models")
        config.include("webapp.health")
        config.include("webapp.observability")
        config.include(".routes")
        from ..security import include_sessions

        include_sessions(
            config,
            cookie_name=settings.get("wallet.merchant_cookie_name", "wallet_merchant"),
            identity_loader=load_merchant,
            session_key="merchant_id",
            salt="wallet.merchant.session",
        )
        config.scan(".views")
        config.scan("webapp.views.default")  # not-found, forbidden, bad CSRF pages
    return config.make_wsgi_app()
