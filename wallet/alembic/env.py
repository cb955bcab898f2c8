"""Alembic environment: the database URL comes from the same ini file as the apps."""
import logging.config
from collections.abc import Mapping
from typing import Any

from alembic import context

from wallet.db import get_engine, target_metadata
from wallet.settings import load_settings

config = context.config


def _settings() -> Mapping[str, Any]:
    # Tests and scripts may hand in settings directly; otherwise read the ini file.
    given: Mapping[str, Any] | None = config.attributes.get("settings")
    if given is not None:
        return given
    if config.config_file_name is None:
        raise RuntimeError("alembic needs an ini file (-c) or settings in config.attributes")
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
    return load_settings(config.config_file_name, config.get_main_option("app_name", "user"))


settings = _settings()
# Migrations that need more than the URL read the same settings (a1b7c0de2307
# seals stored PANs with wallet.pan_keys: from the ini, or production.ini's
# environment variables).
config.attributes["settings"] = settings


def run_migrations_offline() -> None:
    context.configure(url=settings["sqlalchemy.url"], target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = get_engine(settings)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch ALTERs rebuild a table (copy, drop, rename): dropping one that
            # other rows refer to fails with foreign keys on, and SQLite ignores
            # the pragma inside a transaction, so it is set before BEGIN and the
            # keys are checked once the migrations are done.
            driver = connection.connection.driver_connection
            if driver is None:
                raise RuntimeError("no SQLite connection to migrate on")
            driver.execute("PRAGMA foreign_keys = OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,  # SQLite ALTERs
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
