"""ledgerlib.testing on this project's own ledger layout (SQLite, and
PostgreSQL when WALLET_TEST_DATABASE_URL is set), and proof that its checks
fail on broken books."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledgerlib import Ledger
from ledgerlib.tables import accounts
from ledgerlib.testing import LedgerPropertyTests, LedgerSetup, check_ledger_properties
from wallet.core import codes

from ..conftest import TEST_DATABASE_URL


@pytest.fixture
def ledgerlib_url(tmp_path):
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'kit.db'}"


def wallet_layout(ledger: Ledger) -> LedgerSetup:
    """The wallet's accounts as it opens them: a bank's settlement account
    (an asset that may go negative), users' and a shop's wallets."""
    ledger.open_account(codes.bank_settlement("hdfc"), "asset", allow_negative=True)
    wallets = [codes.user_wallet(n) for n in (1, 2, 3)] + [codes.merchant_wallet(1)]
    for code in wallets:
        ledger.open_account(code, "liability")
    return LedgerSetup(accounts=wallets, funding=codes.bank_settlement("hdfc"),
                       max_amount=1_00_000_00)


@pytest.fixture
def ledgerlib_setup():
    return wallet_layout


class TestWalletBooks(LedgerPropertyTests):
    max_examples = 25


@pytest.mark.parametrize("check", ["conservation", "verify"])
def test_the_kit_fails_on_broken_books(ledgerlib_engine, check):
    def corrupt(ledger: Ledger) -> LedgerSetup:
        layout = wallet_layout(ledger)
        ledger.session.execute(sa.update(accounts).where(accounts.c.code == layout.accounts[0])
                               .values(posted_paise=accounts.c.posted_paise + 1))
        return layout

    with pytest.raises(AssertionError):
        check_ledger_properties(ledgerlib_engine, corrupt, checks=frozenset({check}),
                                max_examples=3, shrink=False)


def test_the_kit_fails_when_a_replay_moves_money(ledgerlib_engine, monkeypatch):
    """A ledger that forgot its idempotency keys: the replay check catches it."""
    real_transfer = Ledger.transfer

    def forgetful(self, source, destination, amount_paise, *, idempotency_key=None, **kw):
        return real_transfer(self, source, destination, amount_paise, **kw)

    monkeypatch.setattr(Ledger, "transfer", forgetful)
    # One random example is enough: the kit's fixed covering sequence replays a
    # transfer every time (random draws alone missed it in ~1 run of 15).
    with pytest.raises(AssertionError, match="replay moved money"):
        check_ledger_properties(ledgerlib_engine, wallet_layout,
                                checks=frozenset({"replay"}), max_examples=1,
                                shrink=False)


def test_the_kit_runs_every_kind_of_operation_and_its_replay(ledgerlib_engine, monkeypatch):
    done: dict[str, int] = {}
    for name in ("transfer", "hold", "commit_hold", "release_hold", "reverse"):
        real = getattr(Ledger, name)

        def counted(self, *args, _real=real, _name=name, **kwargs):
            result = _real(self, *args, **kwargs)
            replayed = getattr(result, "replayed", False)
            key = f"{_name} (replayed)" if replayed else _name
            done[key] = done.get(key, 0) + 1
            return result

        monkeypatch.setattr(Ledger, name, counted)
    check_ledger_properties(ledgerlib_engine, wallet_layout, max_examples=1, shrink=False)
    assert {"transfer", "transfer (replayed)", "hold", "commit_hold",
            "commit_hold (replayed)", "release_hold", "reverse", "reverse (replayed)"} <= set(done)


def test_the_kit_refuses_unknown_checks(ledgerlib_engine):
    with pytest.raises(ValueError, match="unknown checks"):
        check_ledger_properties(ledgerlib_engine, wallet_layout, checks=frozenset({"speed"}))
