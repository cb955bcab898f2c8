"""The user app: ``main`` is its WSGI factory ([app:user] in the ini files)."""
from pyramid.config import Configurator

from .settings import resolve_settings


def load_user(request, user_id):
    from .models import User

    return request.dbsession.get(User, user_id)


def main(global_config, **settings):
    settings = resolve_settings(global_config, settings)
    with Configurator(settings=settings) as config:
        from .banks import load_banks

        config.registry["banks"] = load_banks(settings)
        import huey_tasks  # what this app enqueues must land where the workers look

        huey_tasks.configure(settings)
        config.include("pyramid_jinja2")
        config.include(".templating")
        config.include(".models")
        config.include(".routes")
        config.include(".health")
        config.include(".observability")
        from .security import include_sessions

        include_sessions(
            config,
            cookie_name=settings.get("wallet.session_cookie_name", "wallet_session"),
            identity_loader=load_user,
            session_key="user_id",
        )
        config.scan(".views")
    return config.make_wsgi_app()
