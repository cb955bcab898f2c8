"""Test data helpers: users with money, balances, row counts (real commits)."""
from __future__ import annotations

import re

from sqlalchemy import func, select

import ledgerlib
from wallet.accounts import AccountService
from wallet.banks import load_banks
from wallet.deposits import DepositService
from wallet.models import Transaction, User

from .conftest import BANK_SETTINGS

TEST_BANKS = load_banks(BANK_SETTINGS)

PASSWORD = "correct horse battery"


def make_user(db, phone: str, name: str = "Test User", deposit_paise: int = 0) -> int:
    with db() as session, session.begin():
        user = AccountService(session, bcrypt_rounds=4).signup(phone, name, PASSWORD)
        if deposit_paise:
            DepositService(session, TEST_BANKS).record_completed(
                user, "hdfc", deposit_paise, f"test-deposit-{user.id:06d}"
            )
        return user.id


def balance(db, user_id: int) -> tuple[int, int]:
    """(available, held) paise of the user's wallet."""
    with db() as session:
        b = ledgerlib.Ledger(session).balance(f"user:{user_id}:wallet")
        return b.available_paise, b.held_paise


def count(db, model) -> int:
    with db() as session:
        return _count(session, model)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def state(db) -> tuple:
    """Everything money-related, to assert that a refused request changed nothing."""
    with db() as session:
        ledger_rows = tuple(
            _count(session, table)
            for table in (ledgerlib.schema.entries, ledgerlib.schema.postings,
                          ledgerlib.schema.holds)
        )
        balances = tuple(session.execute(
            select(ledgerlib.schema.accounts.c.code, ledgerlib.schema.accounts.c.posted_paise,
                   ledgerlib.schema.accounts.c.held_paise).order_by(ledgerlib.schema.accounts.c.id)
        ).all())
        return ledger_rows, balances, _count(session, Transaction), _count(session, User)


def login(app, phone: str, password: str = PASSWORD):
    page = app.get("/login")
    form = page.forms["login-form"]
    form["phone"] = phone
    form["password"] = password
    return form.submit(expect_errors=True)


def csrf_token(app, path: str = "/dashboard") -> str:
    page = app.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def write_ini(path, settings: dict) -> str:
    """An ini file whose [app:user] holds ``settings`` (for CLIs and subprocesses)."""
    lines = ["[app:user]", "use = egg:wallet#user"]
    lines += [f"{key} = {str(value).replace('%', '%%')}" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)
