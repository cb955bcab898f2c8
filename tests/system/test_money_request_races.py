"""Money requests raced on PostgreSQL: a request paid from two sessions at
once (and from the API with a key of its own), while its requester cancels
it; a split's shares paid while its creator closes it. Asserted: each request
ends paid (money moved exactly once: one transfer, the payer's wallet down by
its amount once) or not (nothing moved); no deadlock, counted by the clients
and by PostgreSQL (``pg_stat_database.deadlocks``); no error but the expected
refusals (a request closed under the loser)."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from wallet.core.codes import Kind, MoneyRequestStatus
from wallet.core.models import Transaction, User
from wallet.db import WalletSession, get_engine
from wallet.money.errors import MoneyRequestClosed
from wallet.money.models import MoneyRequest
from wallet.money.splits import Participant
from wallet.operations.bank_calls import verify_all
from wallet.services import Services

from ..api_helpers import auth, new_key, sign_in
from ..conftest import dispose_app_engine, pin_test_app
from ..wallet_helpers import PIN, make_user, services_for_tests
from .test_payment_deadlocks import (
    ClientDeadlocks,
    flush_statistics_of_the_work,
    race,
    server_deadlocks,
    stats_engine,
    tagged,
    wallet_balance,
)

pytestmark = pytest.mark.postgres

ASHA, RAVI, MEERA = "+919876543210", "+919812345678", "+919900011122"
START_PAISE = 10_000_00
ROUNDS = 12


def test_a_request_paid_from_two_sessions_at_once_moves_money_once(db, web_settings):
    import api_app

    asha = make_user(db, ASHA, "Asha")
    ravi = make_user(db, RAVI, "Ravi", deposit_paise=START_PAISE)
    meera = make_user(db, MEERA, "Meera", deposit_paise=START_PAISE)
    url = tagged(web_settings["sqlalchemy.url"])
    engine = get_engine({"sqlalchemy.url": url, "sqlalchemy.pool_size": "8"})
    api_wsgi = api_app.main({}, **{**web_settings, "sqlalchemy.url": url,
                                   "api.rate_limit_backend": "memory"})
    api = pin_test_app(api_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.8"})
    ravi_token = sign_in(api, RAVI)
    stats = stats_engine()
    errors: list[BaseException] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(fn: Callable[..., object]) -> object:
        with WalletSession(engine, expire_on_commit=False) as session, session.begin():
            services = services_for_tests(session)  # (more requests a day than people make)
            services = Services(session, replace(services.settings, money_requests_per_day=999))
            return fn(services, session)

    def expected(fn: Callable[[], object], name: str) -> None:
        try:
            fn()
            outcome = name
        except MoneyRequestClosed:
            outcome = f"{name}: closed"
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)
            return
        with lock:
            outcomes[outcome] += 1

    def pay_in_a_session(public_id: str, payer: int) -> None:
        expected(lambda: run(lambda s, session: s.money_requests.pay(
            session.get(User, payer), public_id, pin=PIN)), "pay")

    def pay_by_api(public_id: str) -> None:
        reply = api.post_json(f"/v1/money_requests/{public_id}/pay", {"pin": PIN},
                              headers=auth(ravi_token, new_key()), expect_errors=True)
        with lock:
            outcomes[f"api {reply.status_int}"] += 1
        if reply.status_int not in (201, 409):
            errors.append(AssertionError(reply.text))

    def cancel(public_id: str) -> None:
        expected(lambda: run(lambda s, session: s.money_requests.cancel(
            session.get(User, asha), public_id)), "cancel")

    def close(public_id: str) -> None:
        expected(lambda: run(lambda s, session: s.splits.close(
            session.get(User, asha), public_id)), "close")


    before = server_deadlocks(stats)
    with ClientDeadlocks() as client:
        for round_ in range(ROUNDS):
            amount = 100_00 + round_
            one = run(lambda s, session, amount=amount: s.money_requests.ask(
                session.get(User, asha), RAVI, amount, "dinner").public_id)
            steps = [lambda one=one: pay_in_a_session(one, ravi),
                     lambda one=one: pay_in_a_session(one, ravi), lambda one=one: pay_by_api(one)]
            if round_ % 2:  # every other round the requester cancels meanwhile
                steps.append(lambda one=one: cancel(one))
            race(*steps)
            split = run(lambda s, session, amount=amount: s.splits.create(
                session.get(User, asha), "Trip", 2 * amount, "equal",
                [Participant(RAVI), Participant(MEERA)]).public_id)
            shares = run(lambda s, session, split=split: [
                v.request.public_id
                for v in s.splits.view(session.get(User, asha), split).shares])
            race(lambda shares=shares: pay_in_a_session(shares[0], ravi),
                 lambda shares=shares: pay_in_a_session(shares[1], meera),
                 lambda shares=shares: pay_in_a_session(shares[1], meera),
                 lambda split=split: close(split))
    dispose_app_engine(api_wsgi)
    engine.dispose()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()

    summary = f"deadlocks: {client.count} seen, {deadlocks} counted; outcomes {dict(outcomes)}"
    print(summary)
    assert client.count == 0 and deadlocks == 0, summary
    assert errors == [], (summary, errors[:5])
    with db() as session:
        paid = session.execute(select(MoneyRequest.payer_user_id, MoneyRequest.amount_paise,
                                      MoneyRequest.transaction_id).where(
            MoneyRequest.status == MoneyRequestStatus.PAID)).all()
        statuses = Counter(session.scalars(select(MoneyRequest.status)))
        transfers = session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.kind == Kind.TRANSFER))
    assert set(statuses) <= {"paid", "cancelled"}, statuses
    assert statuses["paid"] >= ROUNDS // 2, statuses  # the rounds without a cancel: paid
    assert transfers == len(paid) == len({tx for *_, tx in paid})  # one transfer each
    for payer in (ravi, meera):
        spent = sum(amount for who, amount, _ in paid if who == payer)
        assert wallet_balance(db, f"user:{payer}:wallet") == START_PAISE - spent
    assert wallet_balance(db, f"user:{asha}:wallet") == sum(a for _, a, _ in paid)
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)
