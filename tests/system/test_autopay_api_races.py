"""AutoPay through the customer's API on PostgreSQL, at once: a debit waiting
for the PIN paid by two requests with keys of their own (and, every other
round, the mandate revoked meanwhile). Asserted: each debit ends paid (money
moved exactly once) or cancelled by the revocation (nothing moved); the
losers are clear refusals (409), never a 5xx; no deadlock, counted by the
client and by PostgreSQL (``pg_stat_database.deadlocks``)."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from wallet.core.models import Merchant, Transaction
from wallet.merchants.models import MandateDebit
from wallet.operations.bank_calls import verify_all

from ..api_helpers import auth, new_key, sign_in
from ..conftest import dispose_app_engine, pin_test_app
from ..mandate_helpers import Clock, approved_mandate, make_shop, services
from ..wallet_helpers import PIN, make_user
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

ASHA = "+919876543210"
START_PAISE = 99_000_00
DEBIT_PAISE = 16_000_00  # above the PIN cap (₹15,000): it waits for the PIN
ROUNDS = 6


def awaiting(db, shop: int, asha: int) -> tuple[str, str]:
    """A new mandate of Asha's and its debit, awaiting her PIN."""
    clock = Clock()
    mandate = approved_mandate(db, clock, shop, asha, max_amount_paise=20_000_00)
    with db() as session, session.begin():
        debit = services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop), mandate, DEBIT_PAISE).public_id
    clock.advance(days=1)
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        assert [debits.execute(i).status for i in debits.due()] == ["awaiting_pin"]
    return mandate, debit




def test_a_debit_paid_twice_at_once_while_revoked_moves_money_at_most_once(db, web_settings):
    import api_app

    asha = make_user(db, ASHA, "Asha", deposit_paise=START_PAISE)
    shop = make_shop(db, endpoint=False)
    url = tagged(web_settings["sqlalchemy.url"])
    api_wsgi = api_app.main({}, **{**web_settings, "sqlalchemy.url": url,
                                   "api.rate_limit_backend": "memory"})
    api = pin_test_app(api_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.8"})
    token = sign_in(api, ASHA)
    stats = stats_engine()
    outcomes: Counter[str] = Counter()
    errors: list[str] = []
    lock = threading.Lock()

    def post(name: str, path: str, body: dict[str, str] | None, key: bool) -> None:
        headers = auth(token, new_key() if key else None)
        reply = (api.post_json(path, body, headers=headers, expect_errors=True) if body
                 else api.post(path, headers=headers, expect_errors=True))
        with lock:
            outcomes[f"{name} {reply.status_int}"] += 1
            if reply.status_int not in (200, 201, 409):
                errors.append(reply.text)

    before = server_deadlocks(stats)
    with ClientDeadlocks() as client:
        for round_ in range(ROUNDS):
            mandate, debit = awaiting(db, shop, asha)
            pay = f"/v1/autopay/debits/{debit}/pay"
            steps = [lambda pay=pay: post("pay", pay, {"pin": PIN}, True),
                     lambda pay=pay: post("pay", pay, {"pin": PIN}, True)]
            if round_ % 2:
                steps.append(lambda mandate=mandate: post(
                    "revoke", f"/v1/autopay/{mandate}/revoke", None, False))
            race(*steps)
    dispose_app_engine(api_wsgi)
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()

    summary = f"deadlocks: {client.count} seen, {deadlocks} counted; outcomes {dict(outcomes)}"
    print(summary)
    assert client.count == 0 and deadlocks == 0, summary
    assert errors == [], (summary, errors[:5])
    with db() as session:
        statuses = Counter(session.scalars(select(MandateDebit.status)))
        paid = session.scalar(select(func.count()).select_from(MandateDebit).where(
            MandateDebit.status == "succeeded", MandateDebit.transaction_id.is_not(None)))
        payments = session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.payer_user_id == asha, Transaction.kind == "payment"))
    assert set(statuses) <= {"succeeded", "cancelled"}, statuses
    assert statuses["succeeded"] >= ROUNDS // 2, statuses  # the rounds without a revocation
    assert payments == paid == statuses["succeeded"]  # one payment each
    # Both pays of a debit paid answer it (the loser finds it paid under the lock).
    assert outcomes["pay 201"] + outcomes["pay 409"] == 2 * ROUNDS, summary
    assert outcomes["pay 201"] >= 2 * (ROUNDS - ROUNDS // 2), summary
    assert wallet_balance(db, f"user:{asha}:wallet") == START_PAISE - paid * DEBIT_PAISE
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)
