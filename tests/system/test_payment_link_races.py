"""Payment links raced on PostgreSQL: N customers pay one single-use link at
once (each through a checkout of their own), while the shop cancels it every
other round; and N pay one multi-use link at once. Asserted: a single-use
link is paid exactly once (one payment, one payer's money moved), every
other payer is refused with the link's own clear answer and nothing moved;
a multi-use link counts every payment; no deadlock, counted by the clients
and by PostgreSQL (``pg_stat_database.deadlocks``, before and after)."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from wallet.core.codes import Kind
from wallet.core.models import Merchant, Transaction, User
from wallet.db import WalletSession, get_engine
from wallet.merchants.errors import LinkNotPayable
from wallet.merchants.models import PaymentLink, PaymentRequest
from wallet.merchants.payment_links import NewLink
from wallet.operations.bank_calls import verify_all

from ..mandate_helpers import make_shop
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

PAYERS = 8
ROUNDS = 6
START_PAISE = 10_000_00


def test_a_single_use_link_is_paid_once_however_many_race(db, web_settings):
    shop = make_shop(db, "dosa-corner")
    payers = [make_user(db, f"+9198000000{i:02d}", f"Payer {i}", deposit_paise=START_PAISE)
              for i in range(PAYERS)]
    engine = get_engine({"sqlalchemy.url": tagged(web_settings["sqlalchemy.url"]),
                         "sqlalchemy.pool_size": str(PAYERS + 2)})
    stats = stats_engine()
    outcomes: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(fn: Callable[..., object]) -> object:
        with WalletSession(engine, expire_on_commit=False) as session, session.begin():
            return fn(services_for_tests(session), session)

    def attempt(name: str, fn: Callable[[], object]) -> None:
        try:
            fn()
            outcome = name
        except LinkNotPayable as exc:
            outcome = f"{name} refused: {exc}"
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)
            return
        with lock:
            outcomes[outcome] += 1

    def new_link(single_use: bool, amount: int) -> str:
        return str(run(lambda s, session: s.payment_links.create(
            session.get_one(Merchant, shop), NewLink(
                "fixed", "Table 4 dinner", amount=amount, single_use=single_use)).public_id))

    def opened(link: str) -> list[str]:
        return [str(run(lambda s, session: s.payment_links.open(link).public_id))
                for _ in payers]

    def pay(request: str, payer: int) -> Callable[[], None]:
        return lambda: attempt("pay", lambda: run(lambda s, session: s.payment_requests.pay(
            session.get_one(User, payer), request, pin=PIN)))

    def cancel(link: str) -> Callable[[], None]:
        return lambda: attempt("cancel", lambda: run(lambda s, session: s.payment_links.cancel(
            session.get_one(Merchant, shop), link)))

    single, multi = [], []
    before = server_deadlocks(stats)
    with ClientDeadlocks() as client:
        for round_ in range(ROUNDS):
            link = new_link(True, 100_00 + round_)
            single.append(link)
            steps = [pay(request, payer) for request, payer in zip(opened(link), payers,
                                                                   strict=True)]
            if round_ % 2:
                steps.append(cancel(link))
            race(*steps)
        link = new_link(False, 10_00)
        multi.append(link)
        race(*[pay(request, payer) for request, payer in zip(opened(link), payers,
                                                             strict=True)])
    engine.dispose()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()

    summary = f"deadlocks: {client.count} seen, {deadlocks} counted; outcomes {dict(outcomes)}"
    print(summary)
    assert client.count == 0 and deadlocks == 0, summary
    assert errors == [], (summary, errors[:5])
    assert set(outcomes) <= {
        "pay", "cancel", "pay refused: This payment link has already been paid: nothing was paid.",
        "pay refused: The shop cancelled this payment link: nothing was paid.",
        "cancel refused: This payment link is paid: it cannot be cancelled."}, outcomes
    paid_links = 0
    with db() as session:
        for link in single:
            row = session.scalars(select(PaymentLink).where(PaymentLink.public_id == link)).one()
            paid = session.scalars(select(PaymentRequest).where(
                PaymentRequest.payment_link_id == row.id, PaymentRequest.status == "paid")).all()
            assert row.status in ("paid", "cancelled")
            assert len(paid) == (1 if row.status == "paid" else 0) == row.uses_count
            assert row.paid_paise == sum(p.amount_paise for p in paid)
            paid_links += row.status == "paid"
        row = session.scalars(select(PaymentLink).where(PaymentLink.public_id == multi[0])).one()
        assert (row.status, row.uses_count, row.paid_paise) == ("active", PAYERS, PAYERS * 10_00)
        payments = session.execute(select(Transaction.payer_user_id, Transaction.amount_paise)
                                   .where(Transaction.kind == Kind.PAYMENT)).all()
    assert paid_links >= ROUNDS // 2  # (the rounds without a cancel: paid)
    assert len(payments) == outcomes["pay"] == paid_links + PAYERS
    for payer in payers:
        spent = sum(amount for who, amount in payments if who == payer)
        assert wallet_balance(db, f"user:{payer}:wallet") == START_PAISE - spent
    assert wallet_balance(db, f"merchant:{shop}:wallet") == sum(a for _, a in payments)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.kind == Kind.PAYMENT)) == len(payments)
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)
