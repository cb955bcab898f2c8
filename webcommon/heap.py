"""The app's start-up objects kept out of the garbage collector's full passes.

An app holds some 240,000 objects made once at start-up and never garbage
(the mappers, the compiled OpenAPI document, the routes, the templates).
CPython's full collection walks every one of them each time, about 140 ms of
CPU every few hundred requests: 0.4-0.5 ms of each API transfer, paid by
whichever request happened to trigger it (a p99 spike). Once the app is
made, ``gc.freeze()`` moves them to a generation the collector never walks;
what the requests make is collected as before.

``wallet.gc_freeze`` (default: on, except in the tests' ``test`` environment,
which builds an app per test: each freeze would keep that test's garbage)."""
from __future__ import annotations

import gc
from typing import Any

from pyramid.config import Configurator
from pyramid.events import ApplicationCreated

from wallet.settings import as_bool


def freeze_startup_objects(event: Any) -> None:
    gc.collect()  # (start-up's own garbage first: frozen, it would never be freed)
    gc.freeze()


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    default = settings.get("wallet.environment", "development") != "test"
    if as_bool(str(settings.get("wallet.gc_freeze", default))):
        config.add_subscriber(freeze_startup_objects, ApplicationCreated)
