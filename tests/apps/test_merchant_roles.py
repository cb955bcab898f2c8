"""THE ROLE TEST: every route of the merchant app, read from Pyramid's view
registry, with who may open it -- the shop's own login (an owner), a person
who is an owner, a manager, a cashier, and a person removed -- asked over
HTTP. A route (or a method of one) without a rule in :data:`RULES` fails the
test: a new page must say here who opens it. The view's own permission must
give exactly the roles its rule lists (wallet.merchants.roles).

And the same for the merchant API's operations (shops' servers, not people):
a live key opens each, a revoked key and a user's token open none."""
from __future__ import annotations

import itertools
import re

import pytest
import webtest
from pyramid.interfaces import IRoutesMapper
from sqlalchemy import select

from wallet.core.models import Merchant, MerchantStaff
from wallet.merchants.keys import MerchantKeys
from wallet.merchants.roles import role_permits

from ..api_helpers import auth, new_key, sign_in
from ..staff_helpers import STAFF_PASSWORD, first_store, make_staff, owner_actor, staff_service
from ..wallet_helpers import PASSWORD, make_user
from .test_merchant_app import make_merchant, merchant_login, merchant_main
from .test_staff_pages import browser


@pytest.fixture
def merchant_wsgi(web_settings):
    """The merchant app as configured to run: the counter page's stream tokens too."""
    from ..conftest import dispose_app_engine
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test",
                               "wallet.counter_token_secret": "test-counter-secret-" + "x" * 20,
                               "announcer.stream_url": "http://127.0.0.1:9/stream"})
    yield app
    dispose_app_engine(app)


OWNER, MANAGER, CASHIER = "owner", "manager", "cashier"
#: Who is asked: the shop's own login, and people of each role (by their role).
PEOPLE = {"shop_login": OWNER, "staff_owner": OWNER, "manager": MANAGER, "cashier": CASHIER}
ALL = frozenset({OWNER, MANAGER, CASHIER})
#: No permission: open to anyone, signed in or not (the log-in, an invitation...).
PUBLIC = "public"
#: Infrastructure (health, metrics, static files): no session, not a shop's page.
INFRA = "infra"

#: (route name, method or "*" for any) -> the roles that may open it.
RULES: dict[tuple[str, str], frozenset[str] | str] = {
    # Signing in and out, the invitation's page, the app's furniture.
    ("login", "GET"): PUBLIC, ("login", "POST"): PUBLIC, ("logout", "POST"): PUBLIC,
    ("signup", "GET"): PUBLIC, ("signup", "POST"): PUBLIC, ("home", "*"): PUBLIC,
    ("favicon", "*"): PUBLIC, ("staff_invite", "*"): PUBLIC,
    ("healthz", "*"): INFRA, ("readyz", "*"): INFRA, ("metrics", "GET"): INFRA,
    ("__static/", "*"): INFRA,
    # Everyone's own account (their own password, their own sessions).
    ("account", "GET"): ALL, ("account_password", "POST"): ALL,
    ("account_sign_out_others", "POST"): ALL,
    # Payments: everyone (a cashier its store's of today; a manager their stores').
    ("payments", "*"): ALL, ("payment", "GET"): ALL, ("payments_csv", "*"): ALL,
    ("qr", "*"): ALL,
    ("payment", "POST"): frozenset({OWNER, MANAGER}),  # a refund
    # Reports and disputes: owners and managers.
    ("dashboard", "*"): frozenset({OWNER, MANAGER}),
    ("mandates", "GET"): frozenset({OWNER, MANAGER}),
    ("mandate", "GET"): frozenset({OWNER, MANAGER}),
    ("disputes", "GET"): frozenset({OWNER, MANAGER}),
    ("dispute", "GET"): frozenset({OWNER, MANAGER}),
    ("dispute_accept", "POST"): frozenset({OWNER, MANAGER}),
    ("dispute_contest", "POST"): frozenset({OWNER, MANAGER}),
    # Money out, keys, settings, people: owners only.
    ("settle", "GET"): frozenset({OWNER}), ("settle", "POST"): frozenset({OWNER}),
    ("settlement", "*"): frozenset({OWNER}),
    ("bank_accounts", "GET"): frozenset({OWNER}), ("bank_accounts", "POST"): frozenset({OWNER}),
    ("bank_account_remove", "*"): frozenset({OWNER}),
    ("pin", "*"): frozenset({OWNER}), ("pin_reset", "*"): frozenset({OWNER}),
    ("notices", "GET"): frozenset({OWNER}), ("notices_read", "POST"): frozenset({OWNER}),
    ("api_keys", "GET"): frozenset({OWNER}), ("api_keys", "POST"): frozenset({OWNER}),
    ("api_key_revoke", "POST"): frozenset({OWNER}),
    ("checkout_settings", "GET"): frozenset({OWNER}),
    ("checkout_settings", "POST"): frozenset({OWNER}),
    ("webhooks", "GET"): frozenset({OWNER}), ("webhooks", "POST"): frozenset({OWNER}),
    ("webhook", "GET"): frozenset({OWNER}), ("webhook_events", "POST"): frozenset({OWNER}),
    ("webhook_rotate", "POST"): frozenset({OWNER}),
    ("webhook_enable", "POST"): frozenset({OWNER}),
    ("webhook_disable", "POST"): frozenset({OWNER}),
    ("webhook_delivery", "*"): frozenset({OWNER}),
    ("webhook_resend", "POST"): frozenset({OWNER}),
    ("staff", "GET"): frozenset({OWNER}), ("staff", "POST"): frozenset({OWNER}),
    ("staff_member", "POST"): frozenset({OWNER}), ("staff_remove", "POST"): frozenset({OWNER}),
    # Automatic settlement, its history and reports: money out, owners only.
    ("settlements", "GET"): frozenset({OWNER}),
    ("settlement_schedule", "GET"): frozenset({OWNER}),
    ("settlement_schedule", "POST"): frozenset({OWNER}),
    ("settle_all", "POST"): frozenset({OWNER}),
    ("settlement_report", "GET"): frozenset({OWNER}),
    ("settlement_report_csv", "GET"): frozenset({OWNER}),
    # Stores: everyone sees them (their QRs are at the counter); owners change them.
    ("stores", "GET"): ALL, ("store_qr", "GET"): ALL,
    ("stores", "POST"): frozenset({OWNER}), ("store_rename", "POST"): frozenset({OWNER}),
    ("store_close", "POST"): frozenset({OWNER}),
    # Payment links: owners and managers.
    ("links", "GET"): frozenset({OWNER, MANAGER}), ("link", "GET"): frozenset({OWNER, MANAGER}),
    ("link_new", "GET"): frozenset({OWNER, MANAGER}),
    ("link_new", "POST"): frozenset({OWNER, MANAGER}),
    ("link_qr", "GET"): frozenset({OWNER, MANAGER}),
    ("link_cancel", "POST"): frozenset({OWNER, MANAGER}),
    # Test mode's switch and the payment requests it shows: owners and managers.
    ("mode", "POST"): frozenset({OWNER, MANAGER}),
    ("payment_requests", "GET"): frozenset({OWNER, MANAGER}),
    # The counter: its page, its stream's token, and the check of a payment receipt.
    ("verify", "GET"): ALL, ("counter", "GET"): ALL, ("counter_token", "GET"): ALL,
}

#: Values tried for a route's placeholders, the first its pattern takes.
FILLERS = ("999999", "pr_" + "A" * 24, "A" * 43, "x", "stl_" + "A" * 20, "plink_" + "A" * 20)
NO_PERMISSION = (None, "__no_permission_required__")


def routed_views(registry) -> dict[tuple[str, str], object]:
    """(route name, method) -> the permission of every view of a route."""
    found: dict[tuple[str, str], object] = {}
    for view in registry.introspector.get_category("views"):
        spec = view["introspectable"]
        if spec["route_name"] is None:
            continue  # (exception views: not-found, forbidden, bad CSRF)
        permissions = [r["value"] for r in view["related"]
                       if r.category_name == "permissions"]
        permission = permissions[0] if permissions else None
        methods = spec["request_methods"] or ("*",)
        for method in (methods,) if isinstance(methods, str) else methods:
            found[spec["route_name"], method] = permission
    return found


def path_of(registry, route_name: str) -> str:
    """A path the route matches (placeholders filled with values it takes)."""
    route = registry.getUtility(IRoutesMapper).get_route(route_name)
    if route_name == "__static/":
        return "/static/style.css"
    names = re.findall(r"\{(\w+)", route.pattern)
    for values in itertools.product(FILLERS, repeat=len(names)):
        path = route.generate(dict(zip(names, values, strict=True)))
        if route.match(path) is not None:
            return str(path)
    raise AssertionError(f"no path found for {route_name} ({route.pattern})")


def roles_of(permission: object) -> frozenset[str] | str:
    """What a view's permission gives, in the terms of RULES."""
    if permission in NO_PERMISSION:
        return PUBLIC
    if permission == "authenticated":
        return ALL
    return frozenset(role for role in ALL if role_permits(role, str(permission)))


# ------------------------------------------------------- the merchant app


def test_every_route_has_a_rule_and_its_permission_gives_those_roles(merchant_wsgi):
    views = routed_views(merchant_wsgi.registry)
    missing = sorted(set(views) - set(RULES))
    assert not missing, (f"routes without a rule in RULES (add who may open each): {missing}")
    stale = sorted(set(RULES) - set(views))
    assert not stale, f"rules of routes that no longer exist: {stale}"
    for key, permission in views.items():
        expected = RULES[key]
        if expected == INFRA:
            assert permission in NO_PERMISSION, key
        else:
            assert roles_of(permission) == expected, (key, permission)


@pytest.fixture
def people(db, merchant_wsgi):
    """A signed-in browser for the shop's login and each role, and one of a
    person removed after signing in."""
    shop = make_merchant(db)
    store = first_store(db, shop)
    clients = {"shop_login": browser(merchant_wsgi, "203.0.113.20")}
    merchant_login(clients["shop_login"])
    for i, (name, role) in enumerate([("staff_owner", OWNER), ("manager", MANAGER),
                                      ("cashier", CASHIER), ("removed", CASHIER)]):
        email = f"{name}@example.com"
        make_staff(db, shop, name.title(), email=email, role=role,
                   stores=() if role == OWNER else (store,))
        clients[name] = browser(merchant_wsgi, f"203.0.113.{30 + i}")
        assert merchant_login(clients[name], email, STAFF_PASSWORD).status_int == 303
    actor = owner_actor(db, shop)
    with db() as session, session.begin():
        removed = session.scalar(select(MerchantStaff.id).where(
            MerchantStaff.email == "removed@example.com"))
        staff_service(session).remove(actor, removed)
    return clients


def ask(client, method: str, path: str):
    if method == "POST":  # with the session's CSRF token (a refusal is not CSRF's)
        page = client.get("/account", expect_errors=True)
        if page.status_int != 200:  # (signed out: the log-in page has one too)
            page = client.get("/login")
        token = page.html.find("input", {"name": "csrf_token"})["value"]
        return client.post(path, {"csrf_token": token}, expect_errors=True)
    return client.get(path, expect_errors=True)


def refused(response) -> bool:
    """Not opened: forbidden, or sent to sign in."""
    return response.status_int == 403 or (
        response.status_int in (302, 303) and "/login" in response.headers["Location"]
        and "/login" not in response.request.path)


def test_each_role_opens_exactly_the_routes_its_rule_lists(merchant_wsgi, people):
    registry = merchant_wsgi.registry
    views = routed_views(registry)
    # Signing out last: it ends the session every other request uses.
    for (route_name, method) in sorted(views, key=lambda key: key[0] == "logout"):
        rule = RULES[route_name, method]
        if rule == INFRA:
            continue
        path = path_of(registry, route_name)
        verb = "GET" if method == "*" else method
        for who, client in people.items():
            response = ask(client, verb, path)
            where = f"{verb} {path} ({route_name}) as {who}: {response.status}"
            assert response.status_int < 500, where
            if rule == PUBLIC:
                assert response.status_int != 403, where
            elif who == "removed":
                assert refused(response), where  # signed out at once, everywhere
            elif PEOPLE[who] in rule:
                assert not refused(response), where
            else:
                assert response.status_int == 403, where


# ------------------------------------------------------ the merchant API

#: (route name, method) of every merchant operation of the API.
API_OPERATIONS = {
    ("payment_requests", "POST"), ("payment_requests", "GET"), ("payment_request", "GET"),
    ("payment_request_cancel", "POST"), ("payment_request_refunds", "POST"),
    ("payment_request_refunds", "GET"),
    ("mandates", "POST"), ("mandates", "GET"), ("mandate", "GET"),
    ("mandate_debits", "POST"), ("mandate_debits", "GET"),
    ("disputes", "GET"), ("dispute", "GET"), ("dispute_accept", "POST"),
    ("dispute_contest", "POST"),
    ("stores", "GET"),
    ("payment_links", "POST"), ("payment_links", "GET"), ("payment_link", "GET"),
    ("payment_link_cancel", "POST"),
    ("settlements", "GET"), ("settlement", "GET"), ("settlement_report", "GET"),
}


def merchant_operations(registry) -> dict[tuple[str, str], object]:
    return {key: permission for key, permission in routed_views(registry).items()
            if permission == "merchant" or str(permission).startswith("merchant:")}


def test_every_merchant_api_operation_is_listed(api):
    found = set(merchant_operations(api.app.registry))
    assert found == API_OPERATIONS, (
        f"not listed: {sorted(found - API_OPERATIONS)}; gone: {sorted(API_OPERATIONS - found)}")


def test_a_live_key_opens_every_merchant_operation_a_revoked_key_or_a_token_none(api, db):
    shop = make_merchant(db)
    with db() as session, session.begin():
        merchant = session.get(Merchant, shop)
        keys = MerchantKeys(session)
        live = keys.issue(merchant, "server").secret
        revoked = keys.issue(merchant, "old server")
        keys.revoke(merchant, revoked.record.id)
    make_user(db, "+919876543210", "Asha", deposit_paise=100_00)
    user_token = sign_in(api)
    registry = api.app.registry
    for route_name, method in sorted(merchant_operations(registry)):
        path = path_of(registry, route_name)
        for credential, expected in ((live, None), (revoked.secret, "unauthorized"),
                                     (user_token, "wrong_credential_type")):
            headers = auth(credential, new_key())
            response = (api.post_json(path, {}, headers=headers, expect_errors=True)
                        if method == "POST" else api.get(path, headers=headers,
                                                         expect_errors=True))
            where = f"{method} {path} with {expected or 'a live key'}: {response.status}"
            assert response.status_int < 500, where
            if expected is None:
                assert response.status_int not in (401, 403), where
            else:
                assert response.status_int == 401, where
                assert response.json["code"] == expected, where


def test_the_shops_password_is_not_a_persons(merchant_wsgi, db):
    """(The table's people sign in with their own passwords, never the shop's.)"""
    shop = make_merchant(db)
    make_staff(db, shop, "Ravi", email="ravi@example.com", role=OWNER)
    assert merchant_login(webtest.TestApp(merchant_wsgi), "ravi@example.com",
                          PASSWORD).status_int == 400


# ------------------------------------------------ a person's stores only


def test_a_cashier_or_manager_watches_and_answers_their_stores_only(db, merchant_wsgi, asha_id):
    """The counter's stream of another store, or a dispute of another store's
    payment, were reachable by a cashier or a manager of one store."""
    from wallet.core.models import User

    from ..staff_helpers import add_store
    from ..wallet_helpers import PIN, shop_payments_service

    shop = make_merchant(db)
    mine, other = first_store(db, shop), add_store(db, shop, "Airport", "chai-airport")
    people = {}
    for i, role in enumerate((MANAGER, CASHIER)):
        make_staff(db, shop, role.title(), email=f"{role}@example.com", role=role, stores=(mine,))
        people[role] = browser(merchant_wsgi, f"203.0.113.{60 + i}")
        assert merchant_login(people[role], f"{role}@example.com", STAFF_PASSWORD).status_int == 303
    with db() as session, session.begin():
        payment = shop_payments_service(session).pay_merchant(
            session.get(User, asha_id), "chai-airport", 100_00, "form-key-scope-0001", "", pin=PIN)
        payment_id = payment.id
    with db() as session, session.begin():
        from ..wallet_helpers import services_for_tests
        dispute = services_for_tests(session).disputes.open(asha_id, payment_id, "not_delivered",
                                                           "never came").public_id
    for client in people.values():
        assert client.get(f"/counter/token?store={other}", expect_errors=True).status_int == 404
        assert client.get(f"/counter/token?store={mine}").json["store_id"] == mine
    manager = people[MANAGER]
    assert manager.get(f"/disputes/{dispute}", expect_errors=True).status_int == 404
    assert dispute not in manager.get("/disputes").text
    assert ask(manager, "POST", f"/disputes/{dispute}/accept").status_int == 404


@pytest.fixture
def asha_id(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
