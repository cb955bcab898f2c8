"""Alembic migrations create exactly what the models describe, and go both ways."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wallet.db import target_metadata

from ..conftest import migrate


def test_migrations_match_the_models(app_engine):
    with app_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), target_metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(app_db_url):
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "wallet:alembic")
    config.attributes["settings"] = {"sqlalchemy.url": app_db_url}
    command.downgrade(config, "base")
    engine = sa.create_engine(app_db_url)
    try:
        assert "ledger_entries" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    migrate(app_db_url)
