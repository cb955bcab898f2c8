"""wallet.identity.web_sessions on its own: what a session check costs (one indexed
read; a last-seen write at most once a minute), what it refuses, and the
housekeeping of old records."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func, select

from wallet.core.codes import utcnow
from wallet.core.models import User
from wallet.identity.models import WebSession
from wallet.identity.web_sessions import (
    KEEP_FOR,
    EndReason,
    PrincipalKind,
    SessionPolicy,
    WebSessions,
)

from ..wallet_helpers import TEST_PIN_POLICY, make_user
from .test_merchant_app import make_merchant
from .test_web_sessions import Clock

POLICY = SessionPolicy(lifetime_s=3600, idle_s=600)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha")


def start(db, clock, user_id, kind=PrincipalKind.USER) -> str:
    with db() as session, session.begin():
        return WebSessions(session, policy=POLICY, clock=clock).start(
            kind, user_id, user_agent="Mozilla/5.0 \x00\u202etest", ip="203.0.113.7").token


def check(db, clock, token, kind=PrincipalKind.USER):
    with db() as session, session.begin():
        live = WebSessions(session, policy=POLICY, clock=clock).authenticate(kind, token)
        return None if live is None else live.principal.id


@pytest.fixture
def statements(app_engine):
    """The SQL statements run on the test engine (those whose text starts
    with SELECT/UPDATE/INSERT/DELETE), in order."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("SELECT", "UPDATE", "INSERT", "DELETE"):
            seen.append(verb)

    event.listen(app_engine, "before_cursor_execute", record)
    yield seen
    event.remove(app_engine, "before_cursor_execute", record)


def test_a_check_is_one_read_and_a_write_at_most_once_a_minute(db, clock, asha, statements):
    token = start(db, clock, asha)
    statements.clear()
    assert check(db, clock, token) == asha
    assert statements == ["SELECT"]  # the session and its user, in one indexed read
    clock.advance(seconds=59)
    statements.clear()
    assert check(db, clock, token) == asha
    assert statements == ["SELECT"]
    clock.advance(seconds=2)
    statements.clear()
    assert check(db, clock, token) == asha
    assert statements == ["SELECT", "UPDATE"]  # last seen, a minute on
    with db() as session:
        record = session.scalars(select(WebSession)).one()
        assert record.last_seen_at - record.created_at >= dt.timedelta(seconds=61)


def test_only_the_token_of_a_live_session_of_the_right_kind_passes(db, clock, asha):
    token = start(db, clock, asha)
    for wrong in (None, "", 42, token[:-1], token + "x", token.upper() if token.upper()
                  != token else token.lower(), "a" * 43):
        assert check(db, clock, wrong) is None
    assert check(db, clock, token, PrincipalKind.MERCHANT) is None  # a user's, not a shop's
    assert check(db, clock, token, "root") is None
    assert check(db, clock, token) == asha
    with db() as session:
        record = session.scalars(select(WebSession)).one()
        # What is kept of the browser: printable text only; the token only as a hash.
        assert (record.user_agent, record.ip) == ("Mozilla/5.0 test", "203.0.113.7")
        assert token not in (record.token_sha256, record.user_agent)


def test_a_disabled_account_loses_its_sessions(db, clock, asha):
    token = start(db, clock, asha)
    with db() as session, session.begin():
        session.get(User, asha).is_active = False
    assert check(db, clock, token) is None


def test_ending_a_session_twice_or_an_unknown_one_says_so(db, clock, asha):
    token = start(db, clock, asha)
    with db() as session, session.begin():
        sessions = WebSessions(session, policy=POLICY, clock=clock)
        assert sessions.end(PrincipalKind.USER, token) is True
        assert sessions.end(PrincipalKind.USER, token) is False
        assert sessions.end(PrincipalKind.USER, "b" * 43) is False
        assert sessions.end(PrincipalKind.USER, None) is False
    assert check(db, clock, token) is None


def test_end_others_spares_the_one_kept_and_other_principals(db, clock, asha):
    ravi = make_user(db, "+919812345678", "Ravi")
    mine = [start(db, clock, asha) for _ in range(3)]
    his = start(db, clock, ravi)
    shop = make_merchant(db)
    assert shop == asha  # (a shop and a user with one id: kinds keep them apart)
    shops = start(db, clock, shop, PrincipalKind.MERCHANT)
    with db() as session, session.begin():
        keep = session.scalar(select(WebSession.id).order_by(WebSession.id))
        ended = WebSessions(session, policy=POLICY, clock=clock).end_others(
            PrincipalKind.USER, asha, EndReason.ENDED_ELSEWHERE, keep_session_id=keep)
    assert ended == 2
    assert [check(db, clock, t) for t in mine] == [asha, None, None]
    assert check(db, clock, his) == ravi
    assert check(db, clock, shops, PrincipalKind.MERCHANT) == shop
    with db() as session:
        assert WebSessions(session, policy=POLICY, clock=clock).count_others(
            PrincipalKind.USER, asha, keep) == 0


def test_old_records_are_purged_after_the_keeping_time(db, clock, asha):
    start(db, clock, asha)
    clock.advance(seconds=POLICY.lifetime_s + KEEP_FOR.total_seconds() - 60)
    with db() as session, session.begin():
        assert WebSessions(session, policy=POLICY, clock=clock).purge() == 0
    clock.advance(seconds=120)
    newer = start(db, clock, asha)
    with db() as session, session.begin():
        assert WebSessions(session, policy=POLICY, clock=clock).purge() == 1
    with db() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 1
    assert check(db, clock, newer) == asha


def test_start_refuses_an_unknown_kind(db, clock, asha):
    with db() as session, pytest.raises(ValueError):
        WebSessions(session, policy=POLICY, clock=clock).start("root", asha)


def test_the_workers_purge_old_sessions_every_hour(db, web_settings, asha):
    import huey_tasks
    from huey_tasks.housekeeping import purge_web_sessions

    with db() as session, session.begin():
        started = WebSessions(session, policy=POLICY).start(PrincipalKind.USER, asha)
        started.record.expires_at = utcnow() - KEEP_FOR - dt.timedelta(minutes=1)
    start(db, Clock(), asha)  # a live one
    huey_tasks.configure(web_settings)  # the workers on the test database
    try:
        assert purge_web_sessions.call_local() == 1
    finally:
        huey_tasks.configure({"huey.backend": "memory"})
    with db() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 1


def test_a_refused_pin_reset_ends_no_session(db, clock):
    from wallet.core.errors import WalletError
    from wallet.identity.errors import PinNotSet
    from wallet.identity.pins import Pins

    no_pin = make_user(db, "+919812345678", "Ravi", pin=None)
    token = start(db, clock, no_pin)
    for pin, refused in (("2468", PinNotSet), ("12", WalletError)):
        with db() as session, session.begin():
            with pytest.raises(refused):
                Pins(session, policy=TEST_PIN_POLICY, clock=clock).reset(
                    session.get(User, no_pin), pin, pin)
    assert check(db, clock, token) == no_pin


def wait_for_a_lock_wait(db, timeout_s: float = 30.0) -> None:
    """Until some backend of the test database waits on a lock (bounded polling)."""
    import time

    from sqlalchemy import text

    deadline = time.monotonic() + timeout_s
    with db() as session:
        while session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")) == 0:
            session.rollback()  # a fresh snapshot of pg_stat_activity
            assert time.monotonic() < deadline, "nobody waited on a lock"
            time.sleep(0.02)


@pytest.mark.postgres
def test_a_password_change_waits_for_a_busy_session_without_deadlock(db, clock, asha):
    """A request of the other session has touched its session row and goes on
    to lock the user's row (a deposit's limit check does); the password change
    ends that session before it writes the user's row, so it waits instead of
    deadlocking."""
    import threading

    from wallet.core.credentials import secret_sha256
    from wallet.identity.accounts import AccountService

    from ..wallet_helpers import PASSWORD

    other, mine = start(db, clock, asha), start(db, clock, asha)
    clock.advance(seconds=61)  # the other session's next check writes its row
    busy = db()
    busy.begin()
    assert WebSessions(busy, policy=POLICY, clock=clock).authenticate(PrincipalKind.USER, other)
    outcome: dict[str, object] = {}

    def change() -> None:
        try:
            with db() as session, session.begin():
                keep = session.scalar(select(WebSession.id).where(
                    WebSession.token_sha256 == secret_sha256(mine)))
                outcome["ended"] = AccountService(session, bcrypt_rounds=4, clock=clock) \
                    .change_password(session.get(User, asha), PASSWORD, "violet kettle 42 harbour",
                                     "violet kettle 42 harbour", "203.0.113.7",
                                     keep_session_id=keep)
        except Exception as exc:  # (reported below)
            outcome["error"] = exc

    changer = threading.Thread(target=change)
    changer.start()
    wait_for_a_lock_wait(db)  # the change waits for the busy session's row
    busy.execute(select(User).where(User.id == asha).with_for_update())
    busy.commit()
    busy.close()
    changer.join(timeout=60)
    assert outcome == {"ended": 1}
    assert check(db, clock, other) is None and check(db, clock, mine) == asha
