"""A request's session joins its transaction manager as zope.sqlalchemy's
``register`` would join it, though the listeners are registered once on the
factory (webcommon.db), not on each session: written work commits with the
manager, unwritten work rolls back, an abort rolls back, a direct commit is
refused; a session of the factory without a manager is left alone."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
import transaction
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wallet.core.sessions import execute_written
from wallet.db import get_session_factory
from webcommon.db import TM_KEY, get_tm_session, join_to_managers


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "tm_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


@pytest.fixture
def factory(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tm.sqlite'}")
    Base.metadata.create_all(engine)
    yield get_session_factory(engine)
    engine.dispose()


def names(factory) -> list[str]:
    with factory() as session:
        return list(session.scalars(sa.select(Row.name).order_by(Row.id)))


def manager() -> transaction.TransactionManager:
    tm = transaction.TransactionManager(explicit=True)
    tm.begin()
    return tm


def test_the_listeners_are_registered_once_on_the_factory_not_per_session(factory):
    join_to_managers(factory)
    join_to_managers(factory)
    counts = [len(getattr(factory().dispatch, name)) for name in ("after_begin", "do_orm_execute")]
    for _ in range(3):
        get_tm_session(factory, manager())
    assert [len(getattr(factory().dispatch, name))
            for name in ("after_begin", "do_orm_execute")] == counts
    # Another factory's sessions are not joined to anything.
    other = get_session_factory(factory.kw["bind"])
    assert len(other().dispatch.do_orm_execute) < counts[1]


def test_written_work_commits_with_the_manager(factory):
    tm = manager()
    session = get_tm_session(factory, tm)
    session.add(Row(name="flushed"))  # a flush marks the session changed
    tm.commit()
    tm = manager()
    session = get_tm_session(factory, tm)
    session.execute(sa.insert(Row).values(name="orm insert"))  # do_orm_execute marks it
    tm.commit()
    assert names(factory) == ["flushed", "orm insert"]


def test_unmarked_work_rolls_back_and_an_abort_rolls_back(factory):
    tm = manager()
    session = get_tm_session(factory, tm)
    # Core on the session's connection: not marked, so rolled back (as before).
    session.connection().execute(sa.insert(Row.__table__).values(name="core"))
    tm.commit()
    tm = manager()
    session = get_tm_session(factory, tm)
    session.add(Row(name="aborted"))
    session.flush()
    tm.abort()
    assert names(factory) == []


def test_a_joined_session_cannot_commit_by_itself(factory):
    tm = manager()
    session = get_tm_session(factory, tm)
    session.add(Row(name="direct"))
    with pytest.raises(AssertionError, match="transaction manager"):
        session.commit()
    tm.abort()
    assert names(factory) == []


def test_two_sessions_join_their_own_managers(factory):
    first, second = manager(), manager()
    one, two = get_tm_session(factory, first), get_tm_session(factory, second)
    assert one.info[TM_KEY] is first and two.info[TM_KEY] is second
    one.add(Row(name="first"))
    two.add(Row(name="second"))
    one.flush()
    second.abort()
    first.commit()
    assert names(factory) == ["first"]


def test_a_session_without_a_manager_is_left_alone(factory):
    join_to_managers(factory)
    with factory() as session:
        session.add(Row(name="plain"))
        session.commit()
    assert names(factory) == ["plain"]


def test_a_write_on_the_sessions_connection_commits_with_the_manager(factory):
    tm = manager()
    session = get_tm_session(factory, tm)
    session.add(Row(name="pending"))  # flushed first, as the ORM's execute would
    new_id = execute_written(session, sa.insert(Row.__table__).values(
        name=sa.bindparam("name")).returning(Row.__table__.c.id), {"name": "core"}).scalar_one()
    tm.commit()
    assert new_id == 2 and names(factory) == ["pending", "core"]
    tm = manager()
    session = get_tm_session(factory, tm)
    execute_written(session, sa.insert(Row.__table__), {"name": "aborted"})
    tm.abort()
    assert names(factory) == ["pending", "core"]
