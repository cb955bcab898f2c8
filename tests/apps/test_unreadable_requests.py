"""Issue 23 item 5: bytes that are not UTF-8 (``/%ff``) and control characters
anywhere in a request to a page app (user, merchant, console, webhook, and the
fake bank): a 4xx, never a 5xx, and no traceback logged. The refusal is one
tween (webcommon.readable); the API has its own tests (test_api_schemathesis).

A table of the requests that were 500s, then hypothesis (derandomized: the
same examples every run) over every route of each app, signed in, with fuzzed
path segments, query strings, form fields and headers."""
from __future__ import annotations

import logging
import re
import urllib.parse

import pytest
import webob
import webtest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import webhook_app
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..wallet_helpers import login, make_user
from .test_admin_console import ADMIN_SECRET, add_operator, sign_in
from .test_fake_bank import make_bank  # noqa: F401 (fixture)
from .test_merchant_app import make_merchant, merchant_login

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
APPS = ("user", "merchant", "console", "webhook", "bank")
#: Every form field name the page templates use, and two of nobody's.
FIELDS = ("request_key", "password", "amount", "reason", "pin", "name", "bank", "phone",
          "repeat", "q", "paid", "note", "next", "ifsc", "handle", "format", "events",
          "email", "action", "account_number", "url", "up_to", "to", "return_origins",
          "pan", "old_pin", "name_on_pan", "month", "from", "edit", "date_of_birth", "date",
          "customer_id", "code", "x", "")
HEADERS = ("X-Request-Id", "Referer", "Origin", "User-Agent", "Accept-Language", "Accept",
           "X-Forwarded-For", "Authorization", "If-None-Match", "X-Bank-Signature",
           "X-Bank-Event-Id", "Content-Type")
#: The requests of the issue, and their kin: each was a 500 with a traceback.
UNREADABLE = (
    ("GET", "/%ff", b""), ("GET", "/pay/%ff", b""), ("GET", "/checkout/%ff", b""),
    ("GET", "/webhooks/%ff%fe", b""), ("GET", "/hdfc/netbanking/%c0%af", b""),
    ("GET", "/deposits/%ed%a0%80", b""), ("GET", "/login?next=%ff", b""),
    ("GET", "/?%ff=1", b""), ("GET", "/static/%ff.css", b""),
    ("POST", "/login", b"phone=%ff&password=%fe"), ("POST", "/login", b"phone=\xff"),
    ("POST", "/webhooks/hdfc?x=%80", b"{}"),
)
NUL = (("GET", "/%00", b""), ("GET", "/?q=%00", b""), ("POST", "/login", b"phone=%00"))


@pytest.fixture
def apps(web_settings, db, make_bank):  # noqa: F811 (fixture)
    """Each app, signed in where it has sign-in: name -> (webtest app, csrf token)."""
    import admin_app
    import webapp

    made = {
        "user": webapp.main({}, **web_settings),
        "merchant": merchant_main({}, **web_settings),
        "console": admin_app.main({}, **{**web_settings, "admin.session_secret": ADMIN_SECRET}),
        "webhook": webhook_app.main({}, **web_settings),
    }
    env = {"REMOTE_ADDR": "127.0.0.1"}
    tests = {name: webtest.TestApp(app, extra_environ=env) for name, app in made.items()}
    tests["bank"] = webtest.TestApp(make_bank(), extra_environ=env)
    make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    assert login(tests["user"], "+919876543210").status_int == 303
    make_merchant(db)
    assert merchant_login(tests["merchant"]).status_int == 303
    assert sign_in(tests["console"], "olga", add_operator(db, "olga", "operator").now()
                   ).status_int == 303
    yield {name: (app, csrf_token(app)) for name, app in tests.items()}
    for app in made.values():
        dispose_app_engine(app)


def csrf_token(app: webtest.TestApp) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"',
                      app.get("/", status="*").maybe_follow(status="*").text)
    return found.group(1) if found else ""


def routes(app: webtest.TestApp) -> list[str]:
    # (not /logout: the rest of the run would be signed out)
    return [route.pattern for route in app.app.routes_mapper.get_routes()
            if route.pattern != "/logout"]


@pytest.fixture
def tracebacks(caplog):
    """What was logged with a traceback or as an error (none may be)."""
    caplog.set_level(logging.INFO)

    def logged():
        found = [record.getMessage() for record in caplog.records
                 if record.exc_info or record.levelno >= logging.ERROR]
        caplog.clear()
        return found

    return logged


def send(app: webtest.TestApp, method: str, path: str, body: bytes = b"",
         headers: dict[str, str] | None = None) -> webob.Response:
    """The request as sent, with the app's cookies (webtest's own cookie jar
    cannot take a path that is not UTF-8); an exception reaches the test."""
    request = webob.Request.blank(path, method=method, environ={"REMOTE_ADDR": "127.0.0.1"})
    if method == "POST":
        request.body = body
        request.content_type = "application/x-www-form-urlencoded"
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in app.cookiejar)
    if cookies:
        request.headers["Cookie"] = cookies
    request.headers.update(headers or {})
    response: webob.Response = request.get_response(app.app)
    return response


@pytest.mark.parametrize("name", APPS)
def test_bytes_that_are_not_text_are_a_4xx_without_a_traceback(apps, tracebacks, name):
    app, _ = apps[name]
    for method, path, body in UNREADABLE + NUL:
        response = send(app, method, path, body)
        assert 400 <= response.status_int < 500, (path, response.status_int,
                                                  response.text[:300])
        assert tracebacks() == [], path


def test_an_unreadable_address_is_a_404_and_the_rest_a_400(apps):
    app, _ = apps["user"]
    assert send(app, "GET", "/pay/%ff").status_int == 404
    assert send(app, "GET", "/pay?handle=%ff").status_int == 400
    assert send(app, "POST", "/login", b"phone=%ff").status_int == 400
    refused = send(app, "POST", "/login", b"a=b", {
        "Content-Type": "application/x-www-form-urlencoded; charset=latin-1"})
    assert refused.status_int == 400
    assert refused.headers["X-Request-Id"]  # answered under the request id,
    assert refused.headers["X-Frame-Options"] == "DENY"  # with the security headers
    webhook, _ = apps["webhook"]  # banks read JSON
    assert send(webhook, "POST", "/webhooks/%ff", b"{}").json == {
        "status": "not_found", "detail": "There is nothing at this address."}


# ------------------------------------------------------------------ fuzzing

# Bytes as an attacker sends them: any, text that is not UTF-8 (lone
# surrogates, overlong forms), control characters, bidi overrides.
fragments = st.one_of(
    st.binary(max_size=8),
    st.text(max_size=8).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xff", b"\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                     b"\x00", b"\x01", b"\x1b[31m", b"\r\n", b"\t", b"\x7f", b"\x85",
                     b"%", b"%zz", b"\xe2\x80\xae", b"..", b"/", b"+", b"&", b"="]),
)
fuzzed = st.lists(fragments, max_size=4).map(b"".join)


def quoted(raw: bytes) -> str:
    return urllib.parse.quote_from_bytes(raw, safe="")


def fill(pattern: str, segments: list[bytes]) -> str:
    """A route pattern with each placeholder (and ``*subpath``) a fuzzed segment."""
    parts = iter(segments)
    path = re.sub(r"\{[^{}]*(\{[^{}]*\}[^{}]*)*\}|\*\w+", lambda _: quoted(next(parts)), pattern)
    return path if path.startswith("/") else "/" + path


@st.composite
def requests(draw, patterns: list[str], csrf: str):
    pattern = draw(st.sampled_from(patterns))
    holes = len(re.findall(r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|\*\w+", pattern))
    path = fill(pattern, draw(st.lists(fuzzed, min_size=holes, max_size=holes)))
    query = draw(st.lists(st.tuples(st.sampled_from(FIELDS).map(str.encode) | fuzzed,
                                    fuzzed), max_size=3))
    if query:
        path += "?" + "&".join(f"{quoted(key)}={quoted(value)}" for key, value in query)
    method = draw(st.sampled_from(["GET", "POST"]))
    fields = draw(st.lists(st.tuples(st.sampled_from(FIELDS), fuzzed), max_size=5))
    body = "&".join([f"csrf_token={csrf}"] + [f"{key}={quoted(value)}"
                                              for key, value in fields]).encode()
    if draw(st.booleans()):  # now and then, raw bytes in the body itself
        body += b"&note=" + draw(fuzzed)
    # Header values as HTTP can carry them: latin-1 text, no CR or LF.
    headers = draw(st.dictionaries(
        st.sampled_from(HEADERS),
        fuzzed.map(lambda raw: raw.decode("latin-1").replace("\r", "").replace("\n", "")),
        max_size=3))
    return method, path, body, headers


@pytest.mark.parametrize("name", APPS)
def test_fuzzed_requests_never_get_a_5xx_or_a_traceback(apps, tracebacks, name):
    app, csrf = apps[name]

    @FUZZ
    @given(request=requests(routes(app) if name != "bank" else BANK_ROUTES, csrf))
    def check(request):
        method, path, body, headers = request
        response = send(app, method, path, body, headers)
        assert response.status_int < 500, (request, response.status_int, response.text[:300])
        assert tracebacks() == [], request

    check()


#: The fake bank's pages and API (its routes carry no pattern names of ours).
BANK_ROUTES = ["/{bank}/netbanking", "/hdfc/netbanking", "/hdfc/netbanking/{reference}",
               "/hdfc/api/payments/{reference}", "/hdfc/api/payouts",
               "/hdfc/api/payouts/{reference}", "/hdfc/api/statement", "/healthz"]
