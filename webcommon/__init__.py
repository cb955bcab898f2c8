"""What every web app of the wallet shares (user, merchant, webhook; later the
API and admin apps): the domain's settings and banks in the registry, a
database session per request committed by pyramid_tm, health endpoints and
request ids. It holds no rules of the wallet: those are the domain's
(``wallet``). Apps include it with ``config.include("webcommon")``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pyramid.config import Configurator
from pyramid.request import Request

from wallet.banking.banks import BankConfig
from wallet.core.codes import utcnow
from wallet.core.observe import Observer
from wallet.core.tasks import NoTaskQueue, TaskQueue, load_task_queue
from wallet.services import Services
from wallet.settings import ConfigurationError, WalletSettings
from wallet_metrics import PrometheusObserver


def includeme(config: Configurator) -> None:
    """Registry: ``wallet_settings`` (typed) and ``banks``; the request's
    ``dbsession`` and ``services`` (the domain's services on it); /healthz,
    /readyz, request ids, the refusal of unreadable requests and security headers."""
    settings = WalletSettings.from_dict(config.get_settings())
    config.registry["wallet_settings"] = settings
    config.registry["banks"] = dict(settings.banks)
    # Who hears of the domain's work (money operations, bank calls): the
    # sessions and services this app builds report to it. Tests may hand in theirs.
    handed = config.get_settings().get("observer")
    config.registry["observer"] = (handed if isinstance(handed, Observer)
                                   else PrometheusObserver())
    config.include(".db")
    config.include(".reads")  # request.read_dbsession: a standby, when fresh enough
    config.add_request_method(services, "services", reify=True)
    config.add_request_method(read_services, "read_services", reify=True)
    config.include(".health")
    config.include(".observability")
    config.include(".readable")  # unreadable paths, queries and forms: 404/400, never a 500
    config.include(".headers")  # CSP, X-Frame-Options, nosniff, Referrer-Policy, HSTS


def use_task_queue(config: Configurator) -> None:
    """For apps whose requests hand work to the workers (a withdrawal, a
    settlement): the queue named by ``wallet.task_queue``, made at start-up."""
    settings: WalletSettings = config.registry["wallet_settings"]
    queue = load_task_queue(settings.task_queue, settings.raw)
    config.registry["task_queue"] = queue
    health = getattr(queue, "health", None)
    if health is not None:  # e.g. Redis down: degraded, the sweeps catch up later
        config.registry.setdefault("degraded_checks", {})["task_queue"] = lambda _: health()


def use_pins(config: Configurator) -> None:
    """For apps where users set and check their wallet PINs (the user app,
    the API): they refuse to start without the keys of PIN hashes."""
    settings: WalletSettings = config.registry["wallet_settings"]
    if settings.pin_keys is None:
        raise ConfigurationError("setting wallet.pin_keys is required: the keys of wallet PIN "
                                 "hashes (docs/deploy.md)")


def banks(request: Request) -> dict[str, BankConfig]:
    found: dict[str, BankConfig] = request.registry["banks"]
    return found


def wallet_settings(request: Request) -> WalletSettings:
    found: WalletSettings = request.registry["wallet_settings"]
    return found


def task_queue(request: Request) -> TaskQueue:
    found: TaskQueue = request.registry.get("task_queue") or NoTaskQueue()
    return found


def clock(request: Request) -> Callable[[], dt.datetime]:
    """The app's clock: ``registry["clock"]`` if set (tests put theirs there), else UTC now."""
    found: Callable[[], dt.datetime] = request.registry.get("clock") or utcnow
    return found


def services(request: Request) -> Services:
    """``request.services``: the domain's services on this request's session."""
    return Services(request.dbsession, wallet_settings(request), task_queue(request),
                    clock=clock(request))


def read_services(request: Request) -> Services:
    """``request.read_services``: the domain's services on ``request.read_dbsession``
    (a standby when fresh enough: webcommon.reads), for pages that only read."""
    return Services(request.read_dbsession, wallet_settings(request), task_queue(request),
                    clock=clock(request))


def request_read_services(request: Request) -> Services:
    """``request.read_services`` with its type."""
    found: Services = request.read_services
    return found


def request_services(request: Request) -> Services:
    """``request.services`` with its type (Pyramid's request is untyped): the
    services :func:`services` made once for this request."""
    found: Services = request.services
    return found


__all__ = ["banks", "clock", "includeme", "read_services", "request_read_services",
           "request_services", "services", "task_queue", "use_pins", "use_task_queue",
           "wallet_settings"]
