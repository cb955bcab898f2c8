"""The wallet's tables (ledgerlib keeps its own), and the engine and session
factory every process makes once. Its sessions are WalletSessions, whose
listeners (after-commit work, metrics, PIN tries) it installs on import."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, MetaData, engine_from_config, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import configure_mappers, sessionmaker

import ledgerlib

from .banking import models as _banking_models  # noqa: F401
from .care import models as _care_models  # noqa: F401
from .core import observe, sessions, tasks
from .core.ini import as_bool
from .core.models import Base
from .core.observe import NO_OBSERVER, Observer
from .core.sessions import WalletSession
from .identity import models as _identity_models  # noqa: F401
from .identity import pin_tries
from .merchants import models as _merchants_models  # noqa: F401
from .money import models as _money_models  # noqa: F401
from .operations import models as _operations_models  # noqa: F401

configure_mappers()

#: Everything alembic migrates: the wallet's tables and ledgerlib's.
target_metadata: list[MetaData] = [Base.metadata, ledgerlib.metadata]

__all__ = ["WalletSession", "get_engine", "get_session_factory", "install_session_hooks",
           "target_metadata"]


def install_session_hooks() -> None:
    """Register the wallet's session listeners on WalletSession (idempotent)."""
    sessions.install_session_hooks((*tasks.SESSION_HOOKS, *observe.SESSION_HOOKS,
                                    *pin_tries.SESSION_HOOKS))


# Here, where every session factory is made: the wallet's own class, never
# SQLAlchemy's Session, so no other session in the process runs them.
install_session_hooks()


def get_engine(settings: Mapping[str, Any], prefix: str = "sqlalchemy.") -> Engine:
    # hide_parameters: a database error's log line names the statement, never
    # its values (a webhook secret, a token's hash, a customer's details).
    # pool_pre_ping: a connection the server dropped while it sat in the pool
    # (a restart, a killed backend) is replaced at checkout, not handed out.
    options = dict(settings)
    prepared = as_bool(options.pop(prefix + "prepared_statements", False))
    options.pop(prefix + "read_url", None)  # the standbys' URL (webcommon.reads), not an option
    engine = engine_from_config(options, prefix, hide_parameters=True, pool_pre_ping=True)
    # SQLite: BEGIN IMMEDIATE, WAL, foreign keys. PostgreSQL: safe behind
    # PgBouncer in transaction mode (no server-side prepared statements) unless
    # `sqlalchemy.prepared_statements = true` says the connection is direct.
    ledgerlib.configure_engine(engine, prepared_statements=prepared)
    event.listen(engine, "handle_error", _drop_connection_to_a_standby)
    return engine


def _drop_connection_to_a_standby(context: ExceptionContext) -> None:
    """A write refused as read-only (SQLSTATE 25006) means the connection
    reached a server that is not (or not yet, or no longer) the primary during
    a failover: treat it as a lost connection, so the pool drops it and the
    caller may run the transaction again on a fresh one."""
    if getattr(context.original_exception, "sqlstate", None) == "25006":
        context.is_disconnect = True


def get_session_factory(engine: Engine, *,
                        observer: Observer = NO_OBSERVER) -> sessionmaker[WalletSession]:
    """Sessions on ``engine`` whose money operations are reported to ``observer``
    (kept in each session's ``info``; none given: reported to no one)."""
    install_session_hooks()
    return sessionmaker(bind=engine, class_=WalletSession, expire_on_commit=False,
                        info=observe.observed_by(observer))
