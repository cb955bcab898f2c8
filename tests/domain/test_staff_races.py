"""The people of a shop under real concurrency (PostgreSQL): two owners
inviting the same person at once make one invitation (the other a form
error, not a 500), and one invitation's link accepted twice at once sets one
password (the link is single-use)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from wallet.core.models import MerchantStaff
from wallet.identity.accounts import AccountService
from wallet.merchants.errors import StaffError, StaffNotFound

from ..staff_helpers import LINK, STAFF_PASSWORD, invite, owner_actor, staff_service
from ..wallet_helpers import PASSWORD
from .test_wallet_races import run_together

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(db):
    with db() as session, session.begin():
        return AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", PASSWORD).id


def test_two_invitations_of_one_person_at_once_make_one(db, shop):
    actor = owner_actor(db, shop)

    def invite_ravi(i):
        with db() as session, session.begin():
            return staff_service(session).invite(actor, f"Ravi {i}", "ravi@example.com", "",
                                                 "owner", [], LINK).token

    results = run_together(4, invite_ravi)
    tokens = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, StaffError)]
    assert tokens and len(tokens) + len(refused) == 4, results
    with db() as session:
        assert session.scalar(select(func.count()).select_from(MerchantStaff)) == 1


def test_one_link_accepted_twice_at_once_sets_one_password(db, shop):
    token = invite(db, shop, "Ravi", email="ravi@example.com", role="owner")

    def accept(i):
        with db() as session, session.begin():
            return staff_service(session).accept(token, STAFF_PASSWORD, STAFF_PASSWORD).id

    results = run_together(3, accept)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert sum(isinstance(r, StaffNotFound) for r in results) == 2, results
