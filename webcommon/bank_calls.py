"""A bank call from a request, made with no database transaction open (a bank
may take seconds: no row lock, no connection held while it answers). The
request's transaction so far is committed, then a new one begins for what
follows (as the console's actions do with the bank's status API)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pyramid.request import Request

T = TypeVar("T")


def outside_transaction(request: Request, ask: Callable[[], T]) -> T:
    """Run ``ask`` (a call to a bank) with this request's transaction
    committed, then carry on in a new one (whatever ``ask`` raised)."""
    tm = request.tm
    tm.commit()
    try:
        return ask()
    finally:
        tm.begin()
