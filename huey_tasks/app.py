"""The Huey instance and the database access of the workers.

Importing this package reads no file and connects to nothing: ``huey`` starts
as an in-memory queue and :func:`configure` points it (and the workers'
database) at a process's settings -- the web apps at start-up, the consumer
from the ini file named by ``WALLET_INI`` (huey_tasks/consumer.py):
``huey.backend = sqlite`` (``huey.path``) in development, ``redis``
(``huey.url``: ``redis://`` or ``redis+sentinel://``) in production, ``memory``
for tests. Start workers with

    WALLET_INI=development.ini huey_consumer huey_tasks.consumer.huey --workers 2
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from sqlalchemy.orm import Session, sessionmaker

import ledgerlib
from wallet.core import redis_urls
from wallet.core.observe import Observer
from wallet.core.tasks import NoTaskQueue, TaskQueue
from wallet.db import WalletSession, get_engine, get_session_factory
from wallet.services import Background
from wallet.settings import WalletSettings
from wallet_metrics import PrometheusObserver

HUEY_NAME = "wallet"
T = TypeVar("T")


def make_huey(settings: Mapping[str, Any]) -> Huey:
    backend = settings.get("huey.backend", "memory")
    if backend == "sqlite":
        path = settings["huey.path"]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return SqliteHuey(HUEY_NAME, filename=path)
    if backend == "redis":
        # redis:// or redis+sentinel:// (wallet.core.redis_urls): with Sentinel the
        # pool finds the master again after a failover. The socket timeout
        # outlasts the consumer's 1 s blocking pop, and ends a read from a
        # master cut off by the network.
        pool = redis_urls.connection_pool(settings["huey.url"], socket_timeout_s=5)
        return RedisHuey(HUEY_NAME, connection_pool=pool)
    if backend == "memory":  # tests: run at once, or just queue with huey.immediate = false
        return MemoryHuey(HUEY_NAME,
                          immediate=settings.get("huey.immediate", "true") == "true")
    raise ValueError(f"huey.backend must be sqlite, redis or memory, not {backend!r}")


class Worker:
    """What tasks need: typed settings, banks and a transaction runner, made
    lazily (importing the tasks must not connect to anything). Its sessions
    and services report to ``observer``: the workers' Prometheus counters."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer
        self.raw_settings: Mapping[str, Any] = {}
        self._settings: WalletSettings | None = None
        self._session_factory: sessionmaker[WalletSession] | None = None

    def configure(self, settings: Mapping[str, Any]) -> None:
        self.raw_settings = settings
        self._settings = None
        self._session_factory = None

    @property
    def settings(self) -> WalletSettings:
        if self._settings is None:  # parsed once per configuration, not per task
            self._settings = WalletSettings.from_dict(self.raw_settings)
        return self._settings

    def session_factory(self) -> sessionmaker[WalletSession]:
        if self._session_factory is None:
            self._session_factory = get_session_factory(get_engine(self.raw_settings),
                                                        observer=self.observer)
        return self._session_factory

    def run_in_transaction(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in one committed transaction, re-run on retryable errors."""

        def attempt() -> T:
            with self.session_factory()() as session, session.begin():
                return fn(session)

        return ledgerlib.retrying(attempt)

    def background(self, tasks: TaskQueue | None = None) -> Background:
        """The domain's services for tasks (wallet.services), each transaction
        on a session of its own."""
        return Background(self.run_in_transaction, self.settings, tasks or NoTaskQueue(),
                          observer=self.observer)


worker = Worker(PrometheusObserver())
# The tasks register on this instance as they are decorated; configure() gives
# it the configured backend's storage (the instance, and so they, stay).
huey = make_huey({})


def configure(settings: Mapping[str, Any]) -> None:
    """Point the workers' database *and* the task queue at ``settings`` (the web
    apps call this at start-up, so what they enqueue lands where workers look)."""
    worker.configure(settings)
    fresh = make_huey(settings)
    # immediate first: changing it makes Huey replace its storage (with an
    # in-memory one, for this MemoryHuey), which would undo the storage's swap.
    huey.immediate = fresh.immediate
    huey.storage = fresh.storage
