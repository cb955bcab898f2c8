"""Test mode: a shop's ``sk_test_`` keys reach test objects only, its
``sk_live_`` keys live ones only; the merchant app shows one mode at a time.

The one rule, for every object a shop's server can name: it belongs to a
mode (its ``livemode`` column), and a query made for a caller finds only
objects of the caller's mode -- :func:`in_mode`, which every shop-side query
helper of the domain adds to its WHERE (the helpers take ``livemode``; the
API passes its key's, the merchant app its session's switch). An object of
the other mode is then not found, exactly as an unknown id (404, never 403:
no information crosses modes). A type without a ``livemode`` column is
live-only (a dispute names a real payment): a test caller finds none of it.

Test objects never touch money: no ``transactions`` row, no ledger posting,
no notification to a real person, and nothing reads them but these helpers,
so balances, reports, dashboards and settlements (which read transactions
and the ledger) never see them. Their webhooks say ``"livemode": false``.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true

TEST, LIVE = False, True


def in_mode(model: Any, livemode: bool) -> ColumnElement[bool]:
    """The WHERE clause keeping ``model``'s rows of one mode."""
    column = getattr(model, "livemode", None)
    if column is None:  # a live-only type: nothing of it exists in test mode
        return true() if livemode else false()
    clause: ColumnElement[bool] = column.is_(livemode)
    return clause


def mode_word(livemode: bool) -> str:
    return "live" if livemode else "test"
