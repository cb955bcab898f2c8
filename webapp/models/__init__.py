"""Database set-up, as in pyramid-cookiecutter-starter: one engine per process,
one session per request, joined to the request's transaction by zope.sqlalchemy."""
from __future__ import annotations

import zope.sqlalchemy
from sqlalchemy import engine_from_config
from sqlalchemy.orm import configure_mappers, sessionmaker

import ledgerlib

from .merchant import Merchant
from .meta import Base
from .transaction import Transaction
from .user import LoginAttempt, LoginThrottle, User
from .webhook import WebhookAttempt, WebhookEvent
from .withdrawal import PayoutAttempt, PayoutLane, Withdrawal

configure_mappers()

#: Everything alembic migrates: the wallet's tables and ledgerlib's.
target_metadata = [Base.metadata, ledgerlib.metadata]

__all__ = [
    "Base", "LoginAttempt", "LoginThrottle", "Merchant", "PayoutAttempt", "PayoutLane", "Transaction", "User",
    "WebhookAttempt", "WebhookEvent", "Withdrawal",
    "target_metadata",
]


def get_engine(settings, prefix="sqlalchemy."):
    engine = engine_from_config(settings, prefix)
    if engine.dialect.name == "sqlite":
        ledgerlib.db.configure_sqlite(engine)  # BEGIN IMMEDIATE, WAL, foreign keys
    return engine


def get_session_factory(engine):
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_tm_session(session_factory, transaction_manager, request=None):
    """A session joined to ``transaction_manager``: it commits or aborts with it."""
    dbsession = session_factory(info={"request": request})
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


def includeme(config):
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    config.include("pyramid_tm")
    config.include("pyramid_retry")

    # Tests hand in their own session factory (and so their engine).
    session_factory = settings.get("dbsession_factory")
    if session_factory is None:
        session_factory = get_session_factory(get_engine(settings))
    config.registry["dbsession_factory"] = session_factory

    def dbsession(request):
        # Tests may hand in a session already joined to their transaction.
        dbsession = request.environ.get("app.dbsession")
        if dbsession is None:
            dbsession = get_tm_session(session_factory, request.tm, request=request)
        return dbsession

    config.add_request_method(dbsession, reify=True)
