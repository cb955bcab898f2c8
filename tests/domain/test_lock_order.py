"""The lock order of docs/architecture.md ("Lock order") held by the code:
every row lock is ``FOR NO KEY UPDATE`` (it must let foreign-key checks
pass), and rows of one kind locked together are locked in ascending id order
(a batch's payers' PIN rows). The workload that showed the deadlocks is
tests/system/test_payment_deadlocks.py."""
from __future__ import annotations

import ast
import re
import threading
from pathlib import Path

import bcrypt
import pytest
from sqlalchemy import text

from wallet.core.models import Merchant, User
from wallet.identity.accounts import AccountService
from wallet.money.bulk_payments import ShopPayment, pay_shop_batch

from ..live_servers import wait_until
from ..wallet_helpers import PASSWORD, PIN, balance, make_user, shop_payments_service

ROOT = Path(__file__).resolve().parents[2]
#: Every package whose code runs against the wallet's database (the fake bank
#: has a database and rules of its own).
PACKAGES = ("wallet", "ledgerlib", "webcommon", "webapp", "api_app", "admin_app", "webhook_app",
            "huey_tasks", "wallet_cli", "wallet_metrics")
_STRONG_LOCK = re.compile(r"(?<!NO KEY )FOR UPDATE", re.IGNORECASE)


def docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def strong_locks(path: Path) -> list[str]:
    """``with_for_update()`` without ``key_share=True``, and SQL text saying
    ``FOR UPDATE``, in one source file (its docstrings aside)."""
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    tree = ast.parse(path.read_text(), str(path))
    docstrings = docstring_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "with_for_update"
                and not any(k.arg == "key_share" and isinstance(k.value, ast.Constant)
                            and k.value.value is True for k in node.keywords)):
            found.append(f"{where}:{node.lineno} with_for_update()")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in docstrings and _STRONG_LOCK.search(node.value)):
            found.append(f"{where}:{node.lineno} FOR UPDATE")
    return found


def test_every_row_lock_lets_foreign_key_checks_pass():
    """FOR UPDATE conflicts with the FOR KEY SHARE lock PostgreSQL takes on a
    row when a row referencing it is inserted: a user's row locked that way
    while opposite payments inserted their records deadlocked them."""
    found = [hit for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             if "alembic" not in path.parts for hit in strong_locks(path)]
    assert found == []


def test_the_scan_finds_a_strong_lock(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text('"""FOR UPDATE in a docstring is prose."""\n'
                      "stmt = select(t).with_for_update()\n"
                      "ok = select(t).with_for_update(key_share=True)\n"
                      'raw = "SELECT 1 FROM t FOR UPDATE"\n'
                      'fine = "SELECT 1 FROM t FOR NO KEY UPDATE"\n')
    assert strong_locks(source) == ["bad.py:2 with_for_update()", "bad.py:4 FOR UPDATE"]


# ------------------------------------------------------- several users' rows


@pytest.mark.postgres
def test_batches_with_their_payers_in_opposite_orders_do_not_deadlock(db, monkeypatch):
    """Each payment's PIN check locks its payer's PIN row: two batches paying
    for Asha and Ravi, one listing Asha first and one Ravi first, must lock
    the rows in one order (ascending id), or each waits for the other's.
    The first batch waits, holding its first PIN row, until the second holds
    one too or waits for one -- the moment that deadlocked."""
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, "+919812345678", "Ravi", deposit_paise=1_000_00)
    with db() as session, session.begin():
        shop = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", PASSWORD).id
    second_holds_a_pin = threading.Event()
    backends: dict[str, int] = {}
    first_checks: set[str] = set()
    real_checkpw = bcrypt.checkpw

    def second_waits_for_a_lock() -> bool:
        with db() as session:
            return session.scalar(text(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": backends.get("second", -1)}) is True

    def checkpw(password: bytes, hashed: bytes) -> bool:  # runs holding the PIN row's lock
        name = threading.current_thread().name
        if name not in first_checks:
            first_checks.add(name)
            if name == "first":
                wait_until(lambda: second_holds_a_pin.is_set() or second_waits_for_a_lock(),
                           "the second batch to lock or wait", timeout_s=30)
            else:
                second_holds_a_pin.set()
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    results: dict[str, object] = {}

    def batch(name: str, payers: tuple[int, ...]) -> None:
        try:
            with db() as session, session.begin():
                backends[name] = session.scalar(text("SELECT pg_backend_pid()"))
                payments = [ShopPayment(session.get_one(User, payer), 10_00,
                                        f"payment:{payer}:batch-{name}-{payer:08d}", pin=PIN)
                            for payer in payers]
                made = pay_shop_batch(shop_payments_service(session),
                                      session.get_one(Merchant, shop), payments)
                results[name] = [getattr(m, "amount_paise", m) for m in made]
        except Exception as exc:  # noqa: BLE001 - the assertion shows it
            results[name] = exc

    threads = [threading.Thread(target=batch, name=name, args=(name, payers))
               for name, payers in (("first", (asha, ravi)), ("second", (ravi, asha)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"first": [10_00, 10_00], "second": [10_00, 10_00]}
    assert balance(db, asha) == (980_00, 0) and balance(db, ravi) == (980_00, 0)
