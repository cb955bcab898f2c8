"""A transfer put back (wallet.care.reversals): the whole amount, once; refused
when the recipient no longer has it or it is no completed transfer, nothing
written; the books verify."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from wallet.care.errors import ReversalNotCovered, ReversalRefused
from wallet.core.codes import Kind
from wallet.core.models import Transaction, User
from wallet.operations.bank_calls import verify_all

from ..wallet_helpers import PIN, balance, make_user, services_for_tests

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"


@pytest.fixture
def sent(db):
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    make_user(db, ZOYA, "Zoya Khan")
    with db() as session, session.begin():
        tx = services_for_tests(session).transfers.send_money(
            session.get(User, asha), RAVI, 300_00, "k" * 22, pin=PIN)
        return asha, ravi, tx.id


def reverse(db, tx_id):
    with db() as session, session.begin():
        back = services_for_tests(session).reversals.reverse_transfer(tx_id, "wrong number")
        return back.id, back.kind, back.amount_paise


def test_a_transfer_is_put_back_whole_and_once(db, sent):
    asha, ravi, tx_id = sent
    first = reverse(db, tx_id)
    assert first[1:] == (Kind.ADJUSTMENT, 300_00)
    assert reverse(db, tx_id) == first
    assert balance(db, asha)[0] == 1_000_00 and balance(db, ravi)[0] == 0
    with db() as session:
        assert verify_all(session).ok


def test_a_recipient_who_spent_it_is_refused_and_nothing_moves(db, sent):
    asha, ravi, tx_id = sent
    with db() as session, session.begin():
        services_for_tests(session).transfers.send_money(
            session.get(User, ravi), ZOYA, 100_00, "r" * 22, pin=PIN)
    before = (balance(db, asha), balance(db, ravi))
    with pytest.raises(ReversalNotCovered, match="₹200.00 available"):
        reverse(db, tx_id)
    assert (balance(db, asha), balance(db, ravi)) == before


def test_only_a_completed_transfer_is_reversed(db, sent):
    asha, _, tx_id = sent
    with db() as session:
        deposit_id = session.scalar(select(Transaction.id).where(
            Transaction.kind == Kind.DEPOSIT, Transaction.payee_user_id == asha))
        count = session.scalar(select(func.count()).select_from(Transaction))
    for refused in (deposit_id, tx_id + 1000):
        with pytest.raises(ReversalRefused):
            reverse(db, refused)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Transaction)) == count
