"""The people of a shop (wallet.merchants.staff): invited by email or phone
with a role and stores, accepted with a password of their own, signed in on
the shop's log-in, changed, removed (their sessions end at once), and the
audit of what they did. Runs on SQLite and on PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from wallet.core.models import (
    Merchant,
    MerchantNotification,
    MerchantStaff,
    MerchantStaffAction,
    MerchantStaffStore,
)
from wallet.core.round_trips import counting
from wallet.identity.accounts import AccountService
from wallet.identity.errors import AccountError, LoginThrottled
from wallet.identity.web_sessions import PrincipalKind, SessionPolicy, WebSessions
from wallet.merchants.errors import StaffError, StaffNotFound
from wallet.merchants.roles import Role
from wallet.merchants.staff import ShopActor

from ..staff_helpers import (
    LINK,
    STAFF_PASSWORD,
    actions,
    add_store,
    first_store,
    invite,
    make_staff,
    owner_actor,
    staff_row,
    staff_service,
)
from ..wallet_helpers import PASSWORD

NOW = dt.datetime(2026, 12, 12, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def shop(db):
    with db() as session, session.begin():
        return AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", PASSWORD).id


def counts(db) -> tuple[int, ...]:
    with db() as session:
        return tuple(session.scalar(select(func.count()).select_from(model)) for model in (
            MerchantStaff, MerchantStaffStore, MerchantStaffAction, MerchantNotification))


def test_invite_accept_and_sign_in_by_phone(db, shop):
    store = first_store(db, shop)
    token = invite(db, shop, "Ravi", phone="98123 45678", role="cashier", stores=(store,))
    with db() as session:
        person = staff_service(session).invitation(token)
        assert (person.name, person.phone, person.status, person.password_hash) == (
            "Ravi", "+919812345678", "invited", None)
        notice = session.scalar(select(MerchantNotification.text))
        assert "Ravi was invited as cashier" in notice and LINK(token) in notice  # (development)
    with db() as session, session.begin():
        staff_id = staff_service(session).accept(token, STAFF_PASSWORD, STAFF_PASSWORD).id
    with db() as session, session.begin():
        signed_in = staff_service(session).authenticate("+91 98123-45678", STAFF_PASSWORD, "ip")
        assert (signed_in.kind, signed_in.principal_id) == (PrincipalKind.STAFF, staff_id)
        assert signed_in.merchant.id == shop
    assert staff_row(db, staff_id).last_sign_in_at is not None
    with db() as session, pytest.raises(StaffNotFound):  # the link works once
        staff_service(session).invitation(token)
    assert [a[1] for a in actions(db, shop)] == ["staff.invited", "staff.joined"]
    assert actions(db, shop)[0][0] is None and actions(db, shop)[1][0] == staff_id


def test_the_shops_own_login_is_its_owner(db, shop):
    with db() as session, session.begin():
        signed_in = staff_service(session).authenticate("CHAI@example.com", PASSWORD, "ip")
    assert (signed_in.kind, signed_in.principal_id, signed_in.staff) == (
        PrincipalKind.MERCHANT, shop, None)
    actor = owner_actor(db, shop)
    assert (actor.role, actor.staff_id, actor.store_ids) == (Role.OWNER, None, None)


@pytest.mark.parametrize("login", ["nobody@example.com", "98000 00000", "not a login"])
def test_an_unknown_login_costs_a_password_check_and_is_counted(db, shop, monkeypatch, login):
    checked = []
    original = AccountService.check_password

    def spy(self, stored, password):
        checked.append(stored)
        return original(self, stored, password)

    monkeypatch.setattr(AccountService, "check_password", spy)
    with db() as session, session.begin(), pytest.raises(AccountError,
                                                         match="do not match"):
        staff_service(session).authenticate(login, "whatever-it-is", "ip")
    assert checked == [None]  # a hash of the same cost, checked all the same


def test_sign_in_is_throttled_like_the_shops(db, shop):
    make_staff(db, shop, "Ravi", email="ravi@example.com", role="owner")
    for _ in range(5):
        with db() as session, session.begin(), pytest.raises(AccountError):
            staff_service(session).authenticate("ravi@example.com", "wrong password", "ip")
    with db() as session, session.begin(), pytest.raises(LoginThrottled):
        staff_service(session).authenticate("ravi@example.com", STAFF_PASSWORD, "ip")


@pytest.mark.parametrize("fields, field", [
    ({"name": "", "email": "a@b.in"}, "name"),
    ({"name": "Ravi"}, "email"),  # neither email nor phone
    ({"name": "Ravi", "email": "not-an-email"}, "email"),
    ({"name": "Ravi", "phone": "12345"}, "phone"),
    ({"name": "Ravi", "email": "a@b.in", "role": "boss"}, "role"),
    ({"name": "Ravi", "email": "a@b.in", "stores": ()}, "stores"),  # a cashier needs one
    ({"name": "Ravi", "email": "a@b.in", "stores": ("999999",)}, "stores"),
    ({"name": "Ravi", "email": "a@b.in", "stores": ("1; drop",)}, "stores"),
    ({"name": "Ravi", "email": "chai@example.com"}, "email"),  # the shop's own login
    ({"name": "Ravi\u202e", "email": "a@b.in"}, "name"),
])
def test_bad_invitations_write_nothing(db, shop, fields, field):
    store = str(first_store(db, shop))
    before = counts(db)
    with db() as session, session.begin(), pytest.raises(StaffError) as refused:
        staff_service(session).invite(
            owner_actor(db, shop), fields["name"], fields.get("email", ""),
            fields.get("phone", ""), fields.get("role", "cashier"),
            fields.get("stores", (store,)), LINK)
    assert field in refused.value.errors
    assert counts(db) == before


def test_only_an_owner_manages_people(db, shop):
    store = first_store(db, shop)
    manager = ShopActor(shop, 7, Role.MANAGER, frozenset({store}), "Meena")
    with db() as session, session.begin(), pytest.raises(StaffError, match="Only an owner"):
        staff_service(session).invite(manager, "Ravi", "ravi@example.com", "", "cashier",
                                      [str(store)], LINK)


def test_a_weak_password_is_refused_and_the_link_still_works(db, shop):
    token = invite(db, shop, "Ravi", email="ravi@example.com", role="owner")
    with db() as session, session.begin(), pytest.raises(AccountError) as refused:
        staff_service(session).accept(token, "password", "password")
    assert "password" in refused.value.errors
    with db() as session, session.begin(), pytest.raises(AccountError) as refused:
        staff_service(session).accept(token, STAFF_PASSWORD, "another one")
    assert "repeat" in refused.value.errors
    with db() as session:
        assert staff_service(session).invitation(token).status == "invited"


def test_an_expired_link_does_not_work(db, shop):
    token = invite(db, shop, "Ravi", email="ravi@example.com", role="owner")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=8)
    with db() as session, pytest.raises(StaffNotFound):
        staff_service(session, clock=lambda: later).invitation(token)


def test_change_role_and_stores_and_remove_ends_sessions_at_once(db, shop):
    main, second = first_store(db, shop), add_store(db, shop, "Airport", "chai-airport")
    staff_id = make_staff(db, shop, "Ravi", email="ravi@example.com", stores=(main,))
    policy = SessionPolicy()
    with db() as session, session.begin():
        token = WebSessions(session, policy=policy).start(PrincipalKind.STAFF, staff_id).token
    with db() as session, session.begin():
        staff_service(session).change(owner_actor(db, shop), staff_id, "manager",
                                      [str(main), str(second)])
    with db() as session:  # read with the session, in one statement: role and stores
        with counting(session.get_bind()) as trips:
            live = WebSessions(session, policy=policy).authenticate(PrincipalKind.STAFF, token)
        assert trips.count == 1, trips.listing()
        actor = ShopActor.of_staff(live.principal)
        assert (actor.role, actor.store_ids, actor.merchant_id) == (
            "manager", frozenset({main, second}), shop)
    with db() as session, session.begin():
        assert staff_service(session).remove(owner_actor(db, shop), staff_id) == 1
    with db() as session:
        assert WebSessions(session, policy=policy).authenticate(PrincipalKind.STAFF,
                                                               token) is None
        assert session.get(MerchantStaff, staff_id).password_hash is None
    with db() as session, session.begin(), pytest.raises(AccountError):
        staff_service(session).authenticate("ravi@example.com", STAFF_PASSWORD, "ip")
    assert [a[1] for a in actions(db, shop)][-2:] == ["staff.changed", "staff.removed"]


def test_a_removed_person_can_be_invited_again(db, shop):
    store = first_store(db, shop)
    staff_id = make_staff(db, shop, "Ravi", phone="98123 45678", stores=(store,))
    with db() as session, session.begin():
        staff_service(session).remove(owner_actor(db, shop), staff_id)
    token = invite(db, shop, "Ravi K", phone="9812345678", role="manager", stores=(store,))
    with db() as session, session.begin():
        again = staff_service(session).accept(token, STAFF_PASSWORD, STAFF_PASSWORD)
        assert (again.id, again.name, again.role, again.status) == (
            staff_id, "Ravi K", "manager", "active")


def test_an_active_person_is_not_invited_twice_and_nobody_removes_themselves(db, shop):
    staff_id = make_staff(db, shop, "Asha", email="asha@example.com", role="owner")
    with db() as session, session.begin(), pytest.raises(StaffError, match="already works"):
        staff_service(session).invite(owner_actor(db, shop), "Asha", "asha@example.com", "",
                                      "owner", [], LINK)
    with db() as session:
        asha = ShopActor.of_staff(session.get(MerchantStaff, staff_id))
    with db() as session, session.begin(), pytest.raises(StaffError, match="yourself"):
        staff_service(session).remove(asha, staff_id)


def test_the_same_person_in_two_shops_signs_in_to_the_one_their_password_opens(db, shop):
    with db() as session, session.begin():
        other = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "dosa-hut", "Dosa Hut", "dosa@example.com", PASSWORD).id
    make_staff(db, shop, "Ravi", email="ravi@example.com", role="owner")
    second = make_staff(db, other, "Ravi", email="ravi@example.com", role="owner",
                        password="another long passphrase 7")
    with db() as session, session.begin():
        signed_in = staff_service(session).authenticate("ravi@example.com",
                                                        "another long passphrase 7", "ip")
    assert (signed_in.principal_id, signed_in.merchant.id) == (second, other)


def test_a_disabled_shops_people_sign_in_no_more(db, shop):
    make_staff(db, shop, "Ravi", email="ravi@example.com", role="owner")
    with db() as session, session.begin():
        session.get(Merchant, shop).is_active = False
    with db() as session, session.begin(), pytest.raises(AccountError):
        staff_service(session).authenticate("ravi@example.com", STAFF_PASSWORD, "ip")


def test_record_action_keeps_who_did_what(db, shop):
    with db() as session, session.begin():
        service = staff_service(session)
        service.record_action(owner_actor(db, shop), "refund", "payment TXN00000001", "₹10.00")
        with pytest.raises(ValueError):
            service.record_action(owner_actor(db, shop), "Not An Action!", "x")
    assert actions(db, shop) == [(None, "refund", "payment TXN00000001")]
