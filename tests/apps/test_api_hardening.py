"""What a stranger's request must never do to the API, each found by a review
or a newcomer's tries: a huge or deeply nested body, a body in another
charset (read one way by the check, another by the view), a password echoed
back, HEAD, a new sign-in as a new rate budget, a retried request keeping a
token revoked meanwhile, the docs page's assets."""
from __future__ import annotations

import json
import re

import pyramid_retry
import pytest
from sqlalchemy import select

from wallet.core.models import Transaction
from wallet.identity.api_tokens import MAX_LIVE_TOKENS
from wallet.identity.models import ApiToken
from wallet.money.transfers import Transfers

from ..api_helpers import auth, new_key, sign_in
from ..conftest import pin_test_app
from ..wallet_helpers import PASSWORD, balance, make_user, state

PROBLEM = "application/problem+json"


@pytest.fixture
def people(db):
    return (make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00),
            make_user(db, "+919812345678", "Ravi"))


def test_a_body_over_64_kib_is_refused_unread(api):
    body = json.dumps({"phone": "9876543210", "password": "x" * 70_000, "device_name": "x"})
    reply = api.post("/v1/tokens", body, status=413,
                     headers={"Content-Type": "application/json"})
    assert reply.content_type == PROBLEM and reply.json["code"] == "payload_too_large"


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_a_2_mb_body_is_a_problem_not_the_servers_plain_413(api_wsgi, ini):
    """Served as the ini serves it: waitress must let the app say it."""
    import configparser
    import pathlib
    import urllib.error
    import urllib.request

    from ..live_servers import serving
    server = configparser.ConfigParser(interpolation=None)
    server.read(pathlib.Path(__file__).parents[2] / ini)
    cap = int(server["server:api"]["max_request_body_size"])
    with serving(api_wsgi, max_request_body_size=cap) as url:
        asked = urllib.request.Request(f"{url}/v1/tokens", data=b"{" + b" " * 2_000_000 + b"}",
                                       headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(asked, timeout=30)
    assert refused.value.code == 413
    assert refused.value.headers["Content-Type"] == PROBLEM
    assert json.loads(refused.value.read())["code"] == "payload_too_large"


@pytest.mark.parametrize("depth", [300, 1200, 5000])
def test_deeply_nested_json_is_a_400_not_a_500(api, people, depth):
    nested = "[" * depth + "]" * depth
    for path, body in (("/v1/tokens", nested),
                       ("/v1/tokens", '{"phone": ' + nested + ', "password": "x", '
                                      '"device_name": "x"}')):
        reply = api.post(path, body, headers={"Content-Type": "application/json"},
                         expect_errors=True)
        assert reply.status_code in (400, 422) and reply.content_type == PROBLEM


@pytest.mark.parametrize("charset", ["utf-16", "utf-7", "latin-1", "bogus"])
def test_a_body_in_another_charset_is_a_415_and_moves_nothing(api, db, people, charset):
    token = sign_in(api)
    before = state(db)
    # utf-7 would smuggle a NUL or a second amount past the check, read otherwise later.
    body = (b'{"to_phone": "9812345678", "amount_paise": 100, "note": "hi+AFw-u0000there", '
            b'"pin": "1357"}')
    reply = api.post("/v1/transfers", body, expect_errors=True, headers={
        **auth(token, new_key()), "Content-Type": f"application/json; charset={charset}"})
    assert reply.status_code == 415 and reply.json["code"] == "unsupported_media_type"
    assert state(db) == before
    ok = api.post("/v1/transfers", body, status=201, headers={
        **auth(token, new_key()), "Content-Type": "application/json; charset=UTF-8"})
    assert ok.json["note"] == "hi+AFw-u0000there"  # read as UTF-8, as checked


def test_a_refused_field_is_not_echoed_back(api, people):
    secret = "correct horse battery staple " * 8  # over the 200-character bound
    reply = api.post_json("/v1/tokens", {"phone": "9876543210", "password": secret,
                                         "device_name": "x"}, status=422)
    assert "horse" not in reply.text
    assert reply.json["errors"][0]["field"] == "password"


def test_head_is_a_get_without_its_body(api, people):
    token = sign_in(api)
    reply = api.head("/v1/me", headers=auth(token), status=200)
    assert reply.body == b""


def test_one_user_has_one_money_budget_whatever_the_number_of_tokens(api_settings, db,
                                                                     people):

    import api_app

    wsgi = api_app.main({}, **{**api_settings, "api.money_requests_per_minute_per_user": "3"})
    api = pin_test_app(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.8"})
    body = {"to_phone": "9812345678", "amount_paise": 1_00}
    for _ in range(3):  # each from a token signed in for the occasion
        api.post_json("/v1/transfers", body, headers=auth(sign_in(api), new_key()), status=201)
    reply = api.post_json("/v1/transfers", body, headers=auth(sign_in(api), new_key()),
                          status=429)
    assert reply.json["code"] == "rate_limited"
    wsgi.registry["dbsession_factory"].kw["bind"].dispose()


def test_signing_in_on_one_device_too_many_revokes_the_least_used(api, db, people):
    tokens = [sign_in(api, device=f"phone {n}") for n in range(MAX_LIVE_TOKENS + 1)]
    api.get("/v1/me", headers=auth(tokens[0]), status=401)  # the oldest, unused since
    api.get("/v1/me", headers=auth(tokens[-1]), status=200)
    with db() as session:
        live = session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))).all()
        assert len(live) == MAX_LIVE_TOKENS


def test_a_retried_request_checks_its_token_again(api, db, people, monkeypatch):
    """pyramid_retry re-runs a request after a serialization failure, from the
    same environ: who is calling is looked up again in the new attempt (a token
    revoked meanwhile is refused), never taken from the first attempt's cache."""
    from wallet.identity.api_tokens import ApiTokens

    asha, ravi = people
    token = sign_in(api)
    # (the API's transfers go through Transfers.send: send_money is the never-held path)
    real_send, real_authenticate = Transfers.send, ApiTokens.authenticate
    sends, lookups = [], []

    def conflicted_once(self, *args, **kwargs):
        sends.append(1)
        if len(sends) == 1:
            raise pyramid_retry.RetryableException("serialization failure (simulated)")
        return real_send(self, *args, **kwargs)

    def counted(self, credential):
        lookups.append(credential)
        return real_authenticate(self, credential)

    monkeypatch.setattr(Transfers, "send", conflicted_once)
    monkeypatch.setattr(ApiTokens, "authenticate", counted)
    api.post_json("/v1/transfers", {"to_phone": "9812345678", "amount_paise": 100},
                  headers=auth(token, new_key()), status=201)
    assert len(sends) == 2 and lookups == [token, token]  # one look-up per attempt
    assert balance(db, ravi)[0] == 100


def test_the_docs_page_loads_its_assets_from_where_it_says(api):
    page = api.get("/docs").text
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert links and all(link.startswith("/docs/") for link in links)
    for link in links:
        api.get(link, status=200)


def test_transfers_are_settled_when_they_complete(api, db, people):
    token = sign_in(api)
    sent = api.post_json("/v1/transfers", {"to_phone": "9812345678", "amount_paise": 100},
                         headers=auth(token, new_key()), status=201).json
    assert sent["settled_at"] == sent["created_at"]
    with db() as session:
        assert session.get(Transaction, sent["id"]).settled_at is not None


def test_login_next_with_control_characters_goes_home(user_app, people):
    page = user_app.get("/login?next=/transactions%0d%0aSet-Cookie:%20x=1")
    form = page.forms["login-form"]
    form["phone"], form["password"] = "9876543210", PASSWORD
    reply = form.submit(status=303)
    assert reply.location.endswith("/dashboard") and "Set-Cookie: x" not in str(reply.headers)
    for target in ("/x\u2028y", "/x\ty", "/x\x7fy"):
        user_app.reset()  # signed out: a fresh browser
        page = user_app.get("/login", params={"next": target})
        form = page.forms["login-form"]
        form["phone"], form["password"] = "9876543210", PASSWORD
        assert form.submit(status=303).location.endswith("/dashboard")


def test_signed_in_pages_are_not_cached(user_app, people):
    page = user_app.get("/login")
    form = page.forms["login-form"]
    form["phone"], form["password"] = "9876543210", PASSWORD
    form.submit(status=303)
    assert user_app.get("/dashboard").headers["Cache-Control"] == "no-store"
