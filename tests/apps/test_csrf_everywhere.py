"""CSRF on every state-changing route of every page app (the user app, the
merchant app, the operators' console), found in Pyramid's own view registry:
a route added later is covered by being added.

For each app, every view that answers POST, PUT, PATCH or DELETE (or any
method) must check the CSRF token, unless it is in :data:`EXEMPT` with the
reason why; and, signed in, a request by that method without the token (or
with a wrong one) must be refused with 400 before the view runs, changing
nothing. The API (bearer tokens, no cookies) and the bank-webhook app (signed
requests, no sessions) are not page apps: a browser cannot be tricked into
sending their credentials.
"""
from __future__ import annotations

import pytest
import webtest
from pyramid.interfaces import IDefaultCSRFOptions, IRoutesMapper

from ..conftest import dispose_app_engine
from ..wallet_helpers import login, make_user, state
from .test_admin_console import ADMIN_SECRET, add_operator, sign_in
from .test_merchant_app import make_merchant, merchant_login

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

#: Deliberate exceptions: (app, route name) -> why it needs no CSRF token.
EXEMPT = {
    # Probes for load balancers and orchestrators: read-only, they answer any
    # method without a session (webcommon.health).
    ("user", "healthz"): "health probe, read-only",
    ("user", "readyz"): "readiness probe, read-only",
    ("merchant", "healthz"): "health probe, read-only",
    ("merchant", "readyz"): "readiness probe, read-only",
    ("console", "healthz"): "health probe, read-only",
    ("console", "readyz"): "readiness probe, read-only",
}


def unsafe_views(wsgi) -> list[tuple[str, str, bool]]:
    """(route name, method, checks CSRF) of every view reachable through a
    route by a method that may change state."""
    registry = wsgi.registry
    defaults = registry.queryUtility(IDefaultCSRFOptions)
    default_on = bool(defaults is not None and defaults.require_csrf)
    found = []
    for item in registry.introspector.get_category("views"):
        view = item["introspectable"]
        if view["route_name"] is None:  # exception and not-found views
            continue
        methods = view["request_methods"]
        methods = (methods,) if isinstance(methods, str) else methods
        for method in UNSAFE if methods is None else [m for m in methods if m in UNSAFE]:
            checks = view["require_csrf"] if view["require_csrf"] is not None else default_on
            found.append((view["route_name"], method, bool(checks)))
    return sorted(set(found))


#: Values tried for each placeholder of a route's pattern, until the route matches.
SAMPLES = ("1", "Ab3_" * 6, "chai-point")


def path_of(wsgi, route_name: str) -> str:
    """A path that the route matches (placeholders filled with a sample each)."""
    import re

    route = wsgi.registry.getUtility(IRoutesMapper).get_route(route_name)
    names = re.findall(r"\{(\w+)", route.pattern)
    star = re.search(r"\*(\w+)", route.pattern)
    for sample in SAMPLES:
        values = {name: sample for name in names}
        if star:
            values[star.group(1)] = ("app.css",)
        path = route.generate(values)
        path = path if path.startswith("/") else "/" + path
        if route.match(path) is not None:
            return path
    raise AssertionError(f"no sample value fits the route {route_name}: {route.pattern}")


# ----------------------------------------------------------------- the apps


@pytest.fixture
def user_side(user_wsgi, db):
    make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    app = webtest.TestApp(user_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
    assert login(app, "+919876543210").status_int == 303
    return user_wsgi, app


@pytest.fixture
def merchant_side(web_settings, db):
    from webapp.merchant import main

    wsgi = main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test"})
    make_merchant(db)
    app = webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    assert merchant_login(app).status_int == 303
    yield wsgi, app
    dispose_app_engine(wsgi)


@pytest.fixture
def console_side(web_settings, db):
    import admin_app

    wsgi = admin_app.main({}, **{**web_settings, "admin.session_secret": ADMIN_SECRET})
    app = webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    totp = add_operator(db, "olga", "operator")
    assert sign_in(app, "olga", totp.now()).status_int == 303
    yield wsgi, app
    dispose_app_engine(wsgi)


APPS = ("user", "merchant", "console")
#: What each app's CSRF refusal says (a 400 alone could be a form error: the
#: view would have run).
REFUSAL = {"user": "did not come from this site", "merchant": "did not come from this site",
           "console": "cross-site request forgery"}


@pytest.fixture(params=APPS)
def side(request):
    return request.param, request.getfixturevalue(f"{request.param}_side")


# ------------------------------------------------------------------ the tests


def test_every_state_changing_view_checks_the_csrf_token(side):
    name, (wsgi, _) = side
    views = unsafe_views(wsgi)
    assert views, "no state-changing view found: the registry walk is broken"
    unchecked = [(route, method) for route, method, checks in views
                 if not checks and (name, route) not in EXEMPT]
    assert unchecked == [], f"{name} app: add CSRF (or an EXEMPT entry with its reason)"


def test_the_exemptions_are_still_needed(side):
    """An exemption for a route that is gone or checks CSRF anyway is stale."""
    name, (wsgi, _) = side
    exempt_now = {route for route, _, checks in unsafe_views(wsgi) if not checks}
    listed = {route for app, route in EXEMPT if app == name}
    assert listed <= exempt_now


@pytest.mark.parametrize("token", [None, "a-wrong-token"])
def test_a_request_without_the_token_is_refused_and_changes_nothing(side, db, token):
    name, (wsgi, app) = side
    checked = [(route, method) for route, method, checks in unsafe_views(wsgi)
               if (name, route) not in EXEMPT]
    assert len(checked) >= 5
    before = state(db)
    answers = {}
    for route, method in checked:
        path = path_of(wsgi, route)
        params = {"amount": "1", "phone": "9812345678"}
        if token is not None:
            params["csrf_token"] = token
        reply = app._gen_request(method, path, params=params, expect_errors=True)
        answers[(route, method, path)] = (reply.status_int, REFUSAL[name] in reply.text)
    refused = {key: answer for key, answer in answers.items() if answer != (400, True)}
    assert refused == {}, f"{name} app: these did not refuse a request without CSRF"
    assert state(db) == before
    # The sessions are still signed in: the refusals were the CSRF check's.
    assert app.get(path_of(wsgi, "home" if name != "console" else "overview"),
                   expect_errors=True).status_int in (200, 302, 303)


def test_the_money_routes_are_among_those_checked(user_side, merchant_side):
    """The walk finds the routes that matter most (a guard on the walk itself)."""
    user_routes = {(route, method) for route, method, _ in unsafe_views(user_side[0])}
    assert {("withdraw", "POST"), ("send", "POST"), ("pay_merchant", "POST"),
            ("add_money", "POST"), ("checkout", "POST")} <= user_routes
    merchant_routes = {(route, method) for route, method, _ in unsafe_views(merchant_side[0])}
    assert {("settle", "POST"), ("api_keys", "POST"), ("webhooks", "POST")} <= merchant_routes
