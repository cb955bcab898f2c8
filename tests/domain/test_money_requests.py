"""Users' money requests and split bills in the domain: a request paid by one
transfer at most once, declined, blocked, cancelled, expired; the daily cap;
"never paid before"; every bad input refused with nothing written; splits'
amounts adding up to the total exactly in every mode (hypothesis too)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from wallet.core.codes import MoneyRequestStatus, SplitMode, SplitStatus, utcnow
from wallet.core.errors import WalletError
from wallet.core.models import Notification, Transaction, User
from wallet.identity.errors import PinRefused
from wallet.money.errors import (
    AmountChanged,
    MoneyRequestClosed,
    MoneyRequestNotFound,
    RecipientNotFound,
    RemindTooSoon,
    RequestLimit,
    RequestsBlocked,
    SelfRequest,
    SplitNotFound,
)
from wallet.money.models import MoneyRequest, RequestBlock, Split
from wallet.money.money_requests import MoneyRequests, RequestPolicy
from wallet.money.splits import Participant, allocate
from wallet.money.transfers import Transfers

from ..wallet_helpers import PIN, balance, make_user, services_for_tests, state

ASHA, RAVI, MEERA, ZOYA = "+919876543210", "+919812345678", "+919900011122", "+919900033344"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def people(db):
    """Asha asks; Ravi (₹1,000) and Meera (₹1,000) pay; Zoya is a stranger."""
    return {"asha": make_user(db, ASHA, "Asha Verma"),
            "ravi": make_user(db, RAVI, "Ravi Kumar", deposit_paise=1_000_00),
            "meera": make_user(db, MEERA, "Meera Iyer", deposit_paise=1_000_00),
            "zoya": make_user(db, ZOYA, "Zoya Khan", deposit_paise=1_000_00)}


def run(db, clock, fn, **policy):
    """fn(services, session) in one committed transaction."""
    with db() as session, session.begin():
        services = services_for_tests(session, clock=clock)
        if policy:
            services = _with_policy(services, RequestPolicy(**policy))
        return fn(services, session)


def _with_policy(services, policy):
    class Custom:
        def __getattr__(self, name):
            return getattr(services, name)

        @property
        def money_requests(self):
            return MoneyRequests(services.db, transfers=services.transfers, policy=policy,
                                 clock=services.clock)
    return Custom()


def ask(db, clock, asker, phone, amount=250_00, note="dinner", expires=None, **policy):
    return run(db, clock, lambda s, session: s.money_requests.ask(
        session.get(User, asker), phone, amount, note, expires).public_id, **policy)


def pay(db, clock, payer, public_id, pin=PIN, amount_paise=None):
    return run(db, clock, lambda s, session: s.money_requests.pay(
        session.get(User, payer), public_id, pin=pin, amount_paise=amount_paise)[1].id)


def status(db, public_id):
    with db() as session:
        return session.scalar(select(MoneyRequest.status).where(
            MoneyRequest.public_id == public_id))


def rows(db):
    """What a refused request must not have written."""
    with db() as session:
        return (state(db), *(session.scalar(select(func.count()).select_from(m))
                             for m in (MoneyRequest, Split, Notification, RequestBlock)))


def test_a_request_is_paid_by_one_transfer_once(db, clock, people):
    rq = ask(db, clock, people["asha"], RAVI)
    with db() as session:
        notice = session.scalars(select(Notification.text).where(
            Notification.user_id == people["ravi"],
            Notification.kind == "money_requested")).all()
    assert notice == ["Asha Verma asks you for ₹250.00: dinner. You have never paid them "
                      "before."]
    first = pay(db, clock, people["ravi"], rq)
    assert pay(db, clock, people["ravi"], rq) == first  # a double click, a retry
    assert status(db, rq) == MoneyRequestStatus.PAID
    assert balance(db, people["ravi"])[0] == 750_00 and balance(db, people["asha"])[0] == 250_00
    with db() as session:
        tx = session.get(Transaction, first)
        assert (tx.kind, tx.note, tx.payer_user_id) == ("transfer", "dinner", people["ravi"])
        assert services_for_tests(session).money_requests.for_transaction(first).public_id == rq


def test_a_wrong_pin_moves_nothing_and_the_request_stays_pending(db, clock, people):
    rq = ask(db, clock, people["asha"], RAVI)
    with pytest.raises(PinRefused):
        pay(db, clock, people["ravi"], rq, pin="0000")
    assert status(db, rq) == "pending" and balance(db, people["ravi"])[0] == 1_000_00


def test_first_time_is_said_until_the_payer_has_paid_the_requester(db, clock, people):
    first = ask(db, clock, people["asha"], RAVI)
    second = ask(db, clock, people["asha"], RAVI, amount=10_00)

    def seen(public_id):
        return run(db, clock, lambda s, session: s.money_requests.view(
            s.money_requests.of_user(session.get(User, people["ravi"]), public_id),
            session.get(User, people["ravi"])).first_time)
    assert seen(second) is True
    pay(db, clock, people["ravi"], first)
    assert seen(second) is False


def test_declined_and_blocked_the_requester_can_ask_no_more(db, clock, people):
    rq = ask(db, clock, people["asha"], RAVI)
    run(db, clock, lambda s, session: s.money_requests.decline(
        session.get(User, people["ravi"]), rq, block=True))
    assert status(db, rq) == "declined"
    with pytest.raises(MoneyRequestClosed):
        pay(db, clock, people["ravi"], rq)
    before = rows(db)
    with pytest.raises(RequestsBlocked):
        ask(db, clock, people["asha"], RAVI)
    assert rows(db) == before
    run(db, clock, lambda s, session: s.money_requests.unblock(
        session.get(User, people["ravi"]), people["asha"]))
    ask(db, clock, people["asha"], RAVI)


def test_the_requester_cancels_and_nothing_can_be_paid(db, clock, people):
    rq = ask(db, clock, people["asha"], RAVI)
    with pytest.raises(MoneyRequestNotFound):  # only the requester cancels
        run(db, clock, lambda s, session: s.money_requests.cancel(
            session.get(User, people["ravi"]), rq))
    run(db, clock, lambda s, session: s.money_requests.cancel(
        session.get(User, people["asha"]), rq))
    with pytest.raises(MoneyRequestClosed):
        pay(db, clock, people["ravi"], rq)
    assert status(db, rq) == "cancelled" and balance(db, people["ravi"])[0] == 1_000_00


def test_an_expired_request_reads_expired_and_the_sweep_writes_it(db, clock, people):
    rq = ask(db, clock, people["asha"], RAVI, expires=clock.now + dt.timedelta(hours=1))
    clock.now += dt.timedelta(hours=2)
    with pytest.raises(MoneyRequestClosed, match="expired"):
        pay(db, clock, people["ravi"], rq)
    page = run(db, clock, lambda s, session: [v.status for v in s.money_requests.page(
        session.get(User, people["ravi"]), incoming=True, status="expired")[0]])
    assert page == ["expired"] and status(db, rq) == "pending"
    assert run(db, clock, lambda s, session: s.money_requests.expire_due()) == 1
    assert status(db, rq) == "expired"


def test_a_request_open_when_paid_is_paid_though_it_lapses_meanwhile(db, clock, people,
                                                                    monkeypatch):
    """Its expiry passes while the transfer waits for its locks: the money
    moved, so the request is paid (a refusal now would leave a transfer no
    request names, and the pages commit refusals)."""
    rq = ask(db, clock, people["asha"], RAVI, expires=clock.now + dt.timedelta(hours=1))
    clock.now += dt.timedelta(minutes=59, seconds=59)
    send_money = Transfers.send_money

    def slow(self, *args, **kwargs):
        tx = send_money(self, *args, **kwargs)
        clock.now += dt.timedelta(seconds=2)  # (the locks took their time)
        return tx

    monkeypatch.setattr(Transfers, "send_money", slow)
    tx_id = pay(db, clock, people["ravi"], rq)
    assert status(db, rq) == "paid" and balance(db, people["ravi"])[0] == 750_00
    with db() as session:
        assert session.scalar(select(MoneyRequest.transaction_id).where(
            MoneyRequest.public_id == rq)) == tx_id


def test_a_changed_amount_is_not_paid_unseen(db, clock, people):
    rq = ask(db, clock, people["asha"], RAVI)
    with pytest.raises(AmountChanged):
        pay(db, clock, people["ravi"], rq, amount_paise=100_00)
    assert status(db, rq) == "pending"


def test_at_most_n_requests_a_day(db, clock, people):
    for _ in range(2):
        ask(db, clock, people["asha"], RAVI, max_per_day=2)
    before = rows(db)
    with pytest.raises(RequestLimit):
        ask(db, clock, people["asha"], MEERA, max_per_day=2)
    assert rows(db) == before
    clock.now += dt.timedelta(days=1)
    ask(db, clock, people["asha"], MEERA, max_per_day=2)


@pytest.mark.parametrize("phone, amount, expires, error", [
    (ASHA, 100, None, SelfRequest),
    ("+919000000000", 100, None, RecipientNotFound),
    ("not a phone", 100, None, WalletError),
    (RAVI, 0, None, WalletError),
    (RAVI, -500, None, WalletError),
    (RAVI, 2.5, None, WalletError),
    (RAVI, "1.005", None, WalletError),
    (RAVI, "abc", None, WalletError),
    (RAVI, 10**12, None, WalletError),
    (RAVI, 100, "2020-01-01", WalletError),
    (RAVI, 100, "2099-01-01", WalletError),
    (RAVI, 100, "tomorrow", WalletError),
    (RAVI, 100, "2030-01-01T10:00:00", WalletError),  # no offset
    (RAVI, 100, "9999-12-31", WalletError),  # (its next day overflows)
])
def test_bad_input_is_refused_and_nothing_written(db, clock, people, phone, amount, expires,
                                                  error):
    before = rows(db)
    with pytest.raises(error):
        ask(db, clock, people["asha"], phone, amount=amount, expires=expires)
    assert rows(db) == before


def test_someone_elses_request_is_no_such_request(db, clock, people):
    rq = ask(db, clock, people["asha"], RAVI)
    before = rows(db)
    with pytest.raises(MoneyRequestNotFound):
        pay(db, clock, people["zoya"], rq)
    for action in ("decline", "quote"):
        with pytest.raises(MoneyRequestNotFound):
            run(db, clock, lambda s, session, action=action: getattr(s.money_requests, action)(
                session.get(User, people["zoya"]), rq))
    assert rows(db) == before and status(db, rq) == "pending"


# ------------------------------------------------------------------ splits


def split(db, clock, creator, mode="equal", total="1000.00", participants=None, **kw):
    if participants is None:
        participants = [Participant(ASHA), Participant(RAVI), Participant(MEERA)]
    return run(db, clock, lambda s, session: s.splits.create(
        session.get(User, creator), kw.get("title", "Dinner at Toit"), total, mode,
        participants).public_id)


def view(db, clock, user, public_id):
    return run(db, clock, lambda s, session: s.splits.view(session.get(User, user), public_id))


@pytest.mark.parametrize("mode, values", [
    ("equal", [None, None, None]),
    ("exact", ["400.00", "300.00", "300.00"]),
    ("shares", ["1", "1", "1"]),
    ("shares", ["2", "1", "1"]),
])
def test_a_split_of_1000_among_3_adds_up_to_100000_paise(db, clock, people, mode, values):
    sp = split(db, clock, people["asha"], mode, participants=[
        Participant(p, v) for p, v in zip((ASHA, RAVI, MEERA), values, strict=True)])
    seen = view(db, clock, people["asha"], sp)
    amounts = [seen.split.creator_share_paise] + [v.request.amount_paise for v in seen.shares]
    assert sum(amounts) == seen.split.total_paise == 100_000
    if mode == "equal" or values == ["1", "1", "1"]:
        assert amounts == [33_334, 33_333, 33_333]  # the first listed gets the paisa over


def test_two_of_three_pay_and_the_split_shows_it(db, clock, people):
    zoya_phone_in = [Participant(RAVI), Participant(MEERA), Participant(ZOYA)]
    sp = split(db, clock, people["asha"], total="900.00", participants=zoya_phone_in)
    shares = {v.payer.id: v.request.public_id for v in view(db, clock, people["asha"], sp).shares}
    pay(db, clock, people["ravi"], shares[people["ravi"]])
    pay(db, clock, people["meera"], shares[people["meera"]])
    seen = view(db, clock, people["asha"], sp)
    assert [v.status for v in seen.shares] == ["paid", "paid", "pending"]
    assert (seen.paid_paise, seen.outstanding_paise, seen.split.creator_share_paise) == (
        600_00, 300_00, 0)
    assert view(db, clock, people["ravi"], sp).paid_paise == 600_00  # a participant sees it
    assert balance(db, people["asha"])[0] == 600_00


def test_the_creator_edits_an_unpaid_share_reminds_and_closes(db, clock, people):
    sp = split(db, clock, people["asha"])
    shares = view(db, clock, people["asha"], sp).shares
    pay(db, clock, people["ravi"], shares[0].request.public_id)
    with pytest.raises(MoneyRequestClosed):  # paid: not editable
        run(db, clock, lambda s, session: s.splits.edit_share(
            session.get(User, people["asha"]), sp, shares[0].request.public_id, "1.00"))
    run(db, clock, lambda s, session: s.splits.edit_share(
        session.get(User, people["asha"]), sp, shares[1].request.public_id, "200.00"))
    seen = view(db, clock, people["asha"], sp)
    assert seen.split.total_paise == 33_334 + 33_333 + 200_00 == seen.paid_paise + 200_00
    assert run(db, clock, lambda s, session: s.splits.remind(
        session.get(User, people["asha"]), sp)) == 1
    with pytest.raises(RemindTooSoon):
        run(db, clock, lambda s, session: s.splits.remind(session.get(User, people["asha"]), sp))
    closed = run(db, clock, lambda s, session: s.splits.close(
        session.get(User, people["asha"]), sp).status)
    assert closed == SplitStatus.CLOSED
    assert [v.status for v in view(db, clock, people["asha"], sp).shares] == [
        "paid", "cancelled"]


@pytest.mark.parametrize("mode, total, participants, field", [
    ("exact", "1000.00", [(RAVI, "400.00"), (MEERA, "500.00")], "participants"),  # 900 != 1000
    ("exact", "1000.00", [(RAVI, "1000.00"), (MEERA, "0")], "participants"),
    ("shares", "1000.00", [(RAVI, "0"), (MEERA, "1")], "participants"),
    ("shares", "1000.00", [(RAVI, "1.5"), (MEERA, "1")], "participants"),
    ("equal", "0.02", [(ASHA, None), (RAVI, None), (MEERA, None)], "participants"),
    ("equal", "0", [(RAVI, None)], "amount"),
    ("equal", "-10", [(RAVI, None)], "amount"),
    ("thirds", "100", [(RAVI, None)], "mode"),
    ("equal", "100", [(ASHA, None)], "participants"),  # nobody else
    ("equal", "100", [(RAVI, None), ("+91 98123 45678", None)], "participants"),  # twice
    ("equal", "100", [(RAVI, None), ("+919000000000", None)], "participants"),  # unknown
    ("equal", "100", [], "participants"),
])
def test_bad_splits_are_refused_and_nothing_written(db, clock, people, mode, total,
                                                    participants, field):
    before = rows(db)
    with pytest.raises(WalletError) as refused:
        split(db, clock, people["asha"], mode, total,
              [Participant(p, v) for p, v in participants])
    assert field in refused.value.errors
    assert rows(db) == before


def test_someone_elses_split_is_no_such_split(db, clock, people):
    sp = split(db, clock, people["asha"])
    for action in (lambda s, u: s.splits.close(u, sp), lambda s, u: s.splits.remind(u, sp),
                   lambda s, u: s.splits.view(u, sp)):
        with pytest.raises(SplitNotFound):
            run(db, clock, lambda s, session, action=action: action(
                s, session.get(User, people["zoya"])))


@settings(max_examples=300, deadline=None)
@given(total=st.integers(1, 10**10),
       shares=st.lists(st.integers(1, 1000), min_size=1, max_size=20))
def test_allocations_always_add_up_exactly(total, shares):
    n = len(shares)
    equal = allocate(total, SplitMode.EQUAL, [1] * n)
    assert sum(equal) == total and max(equal) - min(equal) <= 1
    assert equal == sorted(equal, reverse=True)  # the paise over go to the first listed
    by_shares = allocate(total, SplitMode.SHARES, shares)
    assert sum(by_shares) == total
    weight = sum(shares)
    assert all(abs(a * weight - total * s) <= weight
               for a, s in zip(by_shares, shares, strict=True))
    assert allocate(total, SplitMode.EXACT, by_shares) == by_shares
