"""A database session per request, as in pyramid-cookiecutter-starter: one
engine per process, one session per request joined to the request's
transaction by zope.sqlalchemy, committed (or aborted) by pyramid_tm."""
from __future__ import annotations

from typing import Any

import transaction
import zope.sqlalchemy
from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy.orm import Session, sessionmaker

from wallet.db import WalletSession, get_engine, get_session_factory


def get_tm_session(session_factory: sessionmaker[WalletSession],
                   transaction_manager: transaction.TransactionManager,
                   request: Request | None = None) -> Session:
    """A session joined to ``transaction_manager``: it commits or aborts with it."""
    dbsession = session_factory(info={"request": request})
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # pyramid_tm would write the signed-in account's id into the transaction's
    # note (read by nothing here), loading the account before every view: on
    # SQLite that BEGIN IMMEDIATE held the write lock /readyz's own session then
    # waited 30 s for (a signed-in /readyz was a 503).
    settings.setdefault("tm.annotate_user", "false")
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    config.include(".unavailable")  # the database out of reach: retry, then 503

    # Tests hand in their own session factory (and so their engine).
    session_factory = settings.get("dbsession_factory")
    if session_factory is None:
        session_factory = get_session_factory(get_engine(settings),
                                              observer=config.registry["observer"])
    config.registry["dbsession_factory"] = session_factory

    def dbsession(request: Request) -> Any:
        # Tests may hand in a session already joined to their transaction.
        dbsession = request.environ.get("app.dbsession")
        if dbsession is None:
            dbsession = get_tm_session(session_factory, request.tm, request=request)
        return dbsession

    config.add_request_method(dbsession, reify=True)
