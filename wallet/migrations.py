"""Migrating a database to the latest schema (alembic; the revisions live in
wallet/alembic/versions and freeze the DDL they ran)."""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from .settings import load_settings

SCRIPT_LOCATION = "wallet:alembic"


def upgrade_url(url: str) -> None:
    """Migrate the database at ``url`` to the latest schema (tests, benchmarks)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["settings"] = {"sqlalchemy.url": url}
    command.upgrade(config, "head")


def migrate(config_uri: str) -> None:
    """Migrate the database of an ini file (creating a SQLite file's folder)."""
    settings = load_settings(config_uri)
    url = make_url(settings["sqlalchemy.url"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
    command.upgrade(Config(config_uri), "head")
