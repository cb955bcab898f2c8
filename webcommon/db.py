"""A database session per request, as in pyramid-cookiecutter-starter: one
engine per process, one session per request joined to the request's
transaction by zope.sqlalchemy, committed (or aborted) by pyramid_tm."""
from __future__ import annotations

from typing import Any

import transaction
from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from zope.sqlalchemy import datamanager

from wallet.core.sessions import WRITTEN_HOOK
from wallet.db import WalletSession, get_engine, get_session_factory

#: The session's ``info`` key naming the transaction manager it joins.
TM_KEY = "transaction_manager"


def _manager(session: Session) -> transaction.TransactionManager | None:
    manager: transaction.TransactionManager | None = session.info.get(TM_KEY)
    return manager


class _JoinsItsManager(datamanager.ZopeTransactionEvents):  # type: ignore[misc]
    """zope.sqlalchemy's listeners (``zope.sqlalchemy.register``), the same
    calls with the same arguments, but registered once on the session
    factory rather than on each request's session -- registering seven
    listeners per request cost a transfer ~0.4 ms of CPU. Each session joins
    the transaction manager named in its ``info`` (:data:`TM_KEY`); a
    session of the factory without one (a health check's, a test's set-up)
    is left alone, as an unregistered session was."""

    def after_begin(self, session: Session, _transaction: Any, _connection: Any) -> None:
        self.after_attach(session, None)

    def after_attach(self, session: Session, _instance: Any) -> None:
        if (manager := _manager(session)) is not None:
            datamanager.join_transaction(session, self.initial_state, manager,
                                         self.keep_session)

    def after_flush(self, session: Session, _flush_context: Any) -> None:
        if (manager := _manager(session)) is not None:
            datamanager.mark_changed(session, manager, self.keep_session)

    def after_bulk_update(self, update_context: Any) -> None:
        self.after_flush(update_context.session, None)

    def after_bulk_delete(self, delete_context: Any) -> None:
        self.after_flush(delete_context.session, None)

    def before_commit(self, session: Session) -> None:
        if (manager := _manager(session)) is not None:
            assert session.in_nested_transaction() or \
                manager.get().status == datamanager.ZopeStatus.COMMITTING, \
                "Transaction must be committed using the transaction manager"

    def do_orm_execute(self, execute_state: ORMExecuteState) -> None:
        dml = execute_state.is_update or execute_state.is_insert or execute_state.is_delete
        if execute_state.is_orm_statement and dml:
            self.after_flush(execute_state.session, None)


_EVENTS = _JoinsItsManager()


def _written(session: Session) -> None:
    """A write on the session's connection (wallet.core.sessions.execute_written):
    marked as the ORM's writes are (do_orm_execute), so it commits."""
    _EVENTS.after_flush(session, None)


def _info(request: Request | None, manager: transaction.TransactionManager) -> dict[str, Any]:
    return {"request": request, TM_KEY: manager, WRITTEN_HOOK: _written}
_NAMES = ("after_begin", "after_attach", "after_flush", "after_bulk_update",
          "after_bulk_delete", "before_commit", "do_orm_execute")


def join_to_managers(session_factory: sessionmaker[WalletSession]) -> None:
    """Register the listeners on ``session_factory``'s sessions (once, however
    often called; the factory's own class: no other factory's sessions)."""
    for name in _NAMES:
        listener = getattr(_EVENTS, name)
        if not event.contains(session_factory, name, listener):
            event.listen(session_factory, name, listener)


def get_tm_session(session_factory: sessionmaker[WalletSession],
                   transaction_manager: transaction.TransactionManager,
                   request: Request | None = None) -> Session:
    """A session joined to ``transaction_manager``: it commits or aborts with it."""
    join_to_managers(session_factory)
    return session_factory(info=_info(request, transaction_manager))


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
    join_to_managers(session_factory)

    def dbsession(request: Request) -> Any:
        # Tests may hand in a session already joined to their transaction.
        dbsession = request.environ.get("app.dbsession")
        if dbsession is None:
            dbsession = session_factory(info=_info(request, request.tm))
        return dbsession

    config.add_request_method(dbsession, reify=True)
