"""A stand-in bank we run ourselves ([app:fake_bank]): net-banking approval
page, payout and status API and signed webhooks, with knobs to make it
misbehave. Each bank code speaks the dialect its ``banks.<code>.protocol``
names (fake_bank.dialects): the standard contract, or Ledgerline's."""
from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

import ledgerlib

from .behaviour import Behaviour
from .dialects import dialects_of
from .models import Base, Customer
from .sender import SenderThread
from .settings import resolve_settings

DEMO_CUSTOMERS = [
    ("Asha Verma", 2_00_000_00), ("Ravi Kumar", 50_000_00), ("Meera Iyer", 5_000_00),
]


def bank_codes(settings: Mapping[str, Any]) -> list[str]:
    codes: list[str] = settings.get("banks.enabled", "").split()
    return codes


def seed_customers(session_factory: sessionmaker[Session], codes: list[str],
                   balance_paise: int | None = None) -> None:
    """Demo customers; ``balance_paise`` (fake_bank.customer_balance_paise) gives
    them all that much, for long test runs."""
    with session_factory() as session, session.begin():
        if session.scalar(select(Customer.id).limit(1)) is not None:
            return
        for b, code in enumerate(codes):
            for c, (name, demo_balance_paise) in enumerate(DEMO_CUSTOMERS):
                session.add(Customer(bank_code=code, account_number=f"5010{b:02d}{c:08d}",
                                     name=name, balance_paise=balance_paise or demo_balance_paise))


#: As long as the busy timeout SQLite is given by ``ledgerlib.create_engine`` (30 s).
SQLITE_BUSY_TIMEOUT_S = 30.0


def queue_transactions(engine: Engine) -> None:
    """One transaction at a time in this process, waiting in line on a lock.

    SQLite runs one write transaction at a time anyway; a thread that finds the
    database busy sleeps in SQLite's busy handler in growing steps (1, 2, 5,
    10 ms ...) and may wake long after the other has finished, which made the
    bank's answers several milliseconds slower than its latency knob under load.
    """
    lock = threading.RLock()  # re-entrant: a nested session in one thread must not hang

    @event.listens_for(engine, "begin", insert=True)  # before ledgerlib's BEGIN IMMEDIATE
    def _queue(conn: Any) -> None:
        lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_S)  # then SQLite's own wait decides

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _done(conn: Any) -> None:
        try:
            lock.release()
        except RuntimeError:
            pass  # a rollback with no transaction begun (pool reset)


def main(global_config: Mapping[str, Any] | None, **settings: Any) -> Router:
    settings = resolve_settings(global_config, settings)
    # ledgerlib's engine: BEGIN IMMEDIATE on SQLite, so "is it still pending?"
    # and the decision are one atomic step even for a double-clicked Approve.
    engine = ledgerlib.create_engine(settings["fake_bank.sqlalchemy.url"])
    queue_transactions(engine)
    Base.metadata.create_all(engine)
    session_factory = sessionmaker(engine, expire_on_commit=False)
    codes = bank_codes(settings)
    balance = settings.get("fake_bank.customer_balance_paise")
    seed_customers(session_factory, codes, int(balance) if balance else None)
    behaviour = Behaviour(settings)

    with Configurator(settings=settings) as config:
        config.include("pyramid_jinja2")
        config.add_tween("fake_bank.readable.refuse_unreadable_tween_factory")
        config.add_jinja2_search_path("fake_bank:templates", name=".jinja2")
        config.action(None, lambda: register_filters(config), order=999)
        config.registry["fb.session_factory"] = session_factory
        config.registry["fb.behaviour"] = behaviour
        config.registry["fb.api_keys"] = {c: settings[f"banks.{c}.api_key"] for c in codes}
        dialects = dialects_of(settings, codes)
        config.registry["fb.dialects"] = dialects
        # The bank signs with the first (current) secret of each bank.
        secrets = {c: settings[f"banks.{c}.webhook_secrets"].split()[0] for c in codes}
        config.add_route("healthz", "/healthz")
        config.add_route("readyz", "/readyz")
        config.add_route("netbanking", "/{bank}/netbanking")
        config.add_route("decide", "/{bank}/netbanking/{reference}")
        config.add_route("payment_status", "/{bank}/api/payments/{reference}")
        config.add_route("payouts", "/{bank}/api/payouts")
        config.add_route("payout_status", "/{bank}/api/payouts/{reference}")
        config.add_route("statement", "/{bank}/api/statement")
        config.add_route("ll_transfers", "/{bank}/api/v2/transfers")
        config.add_route("ll_collection", "/{bank}/api/v2/collections/{reference}")
        config.add_route("ll_statement", "/{bank}/api/v2/statements/{date}")
        config.add_route("control_knobs", "/_control/knobs")
        config.add_route("account_holder", "/{bank}/api/accounts/{number}")
        config.add_route("ll_beneficiary", "/{bank}/api/v2/beneficiaries/{number}")
        config.scan(".views")
        config.scan(".payouts")
        config.scan(".ledgerline_api")
        config.scan(".accounts")
        if settings.get("fake_bank.sender", "thread") == "thread":
            sender = SenderThread(session_factory=session_factory,
                                  webhook_url=settings["fake_bank.webhook_url"],
                                  secrets=secrets, behaviour=behaviour, dialects=dialects)
            sender.start()
            config.registry["fb.sender"] = sender
        config.registry["fb.sender_args"] = dict(
            session_factory=session_factory, webhook_url=settings["fake_bank.webhook_url"],
            secrets=secrets, behaviour=behaviour, dialects=dialects)
    return config.make_wsgi_app()


def register_filters(config: Configurator) -> None:
    """``rupees``: ₹2,00,000.00, grouped the Indian way as any Indian bank shows it."""
    from ledgerlib import format_paise
    config.get_jinja2_environment().filters["rupees"] = format_paise
