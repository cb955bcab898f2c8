"""The bank-facing webhook app ([app:webhook]): deployed on its own and kept up."""
from pyramid.config import Configurator

from webapp.banks import load_banks
from webapp.settings import resolve_settings


def main(global_config, **settings):
    settings = resolve_settings(global_config, settings)
    with Configurator(settings=settings) as config:
        config.registry["banks"] = load_banks(settings)
        config.registry["readiness_checks"] = {
            "banks": lambda request: "ok" if request.registry["banks"] else "no bank configured",
        }
        config.include("webapp.models")
        config.include("webapp.health")
        config.include("webapp.observability")
        config.include(".routes")
        config.scan(".views")
    return config.make_wsgi_app()
