"""wallet.core.tasks: work handed on only after the outermost commit, and never
after a rollback; the queue is found by name, so no app imports the workers."""
from __future__ import annotations

import contextvars

import pytest
from sqlalchemy import text

from wallet.core.models import User
from wallet.core.tasks import NoTaskQueue, after_commit, load_task_queue
from wallet.money.errors import InsufficientBalance

from ..wallet_helpers import PIN, TEST_BANKS, make_user, withdrawal_service

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="none")


class RecordingQueue:
    def __init__(self, settings: object = None) -> None:
        self.settings = settings
        self.owners: list[str] = []

    def payouts_due(self, owner_key: str) -> None:
        self.owners.append(owner_key)


def test_runs_after_the_outermost_commit_only_in_its_own_context(db):
    ran: list[str] = []
    with db() as session:
        with session.begin():
            token = marker.set("request-1")
            after_commit(session, lambda: ran.append(marker.get()))
            marker.reset(token)
            with session.begin_nested():  # a savepoint released is no commit
                session.execute(text("SELECT 1"))
            assert ran == []
        assert ran == ["request-1"]
        with session.begin():  # a later transaction does not run it again
            session.execute(text("SELECT 1"))
    assert ran == ["request-1"]


def test_forgotten_when_the_transaction_rolls_back(db):
    ran: list[str] = []
    with db() as session:
        with pytest.raises(RuntimeError), session.begin():
            after_commit(session, lambda: ran.append("no"))
            raise RuntimeError("refused")
        with session.begin():
            session.execute(text("SELECT 1"))
    assert ran == []


def test_a_failing_action_does_not_undo_the_commit(db, caplog):
    with db() as session, session.begin():
        after_commit(session, lambda: 1 / 0)
    assert "work after commit failed" in caplog.text


def test_a_withdrawal_is_announced_after_commit_and_a_refused_one_never(db):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=500_00)
    queue = RecordingQueue()
    with db() as session, session.begin():
        service = withdrawal_service(session, TEST_BANKS, tasks=queue)
        service.request(session.get(User, asha), "hdfc", "50100012345678", "HDFC0001234",
                        200_00, "form-key-tasks-000001", pin=PIN)
        assert queue.owners == []  # not before the commit
    assert queue.owners == [f"user:{asha}"]
    with db() as session, pytest.raises(InsufficientBalance), session.begin():
        withdrawal_service(session, TEST_BANKS, tasks=queue).request(
            session.get(User, asha), "hdfc", "50100012345678", "HDFC0001234", 900_00,
            "form-key-tasks-000002", pin=PIN)
    assert queue.owners == [f"user:{asha}"]


def test_the_queue_is_loaded_by_name():
    queue = load_task_queue("tests.domain.test_tasks:RecordingQueue", {"k": "v"})
    assert isinstance(queue, RecordingQueue) and queue.settings == {"k": "v"}
    with pytest.raises(ValueError, match="module:factory"):
        load_task_queue("tests.domain.test_tasks", {})
    NoTaskQueue().payouts_due("user:1")  # queues nothing, says so in the log
