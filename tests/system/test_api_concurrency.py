"""The API over real HTTP: one Idempotency-Key sent eight times at once moves
money once; a token revoked through one process is refused by another at once;
rate-limit counters shared through Redis."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..api_helpers import auth, new_key, sign_in
from ..conftest import pin_test_app
from ..live_servers import free_ports, http, serving, wait_until
from ..wallet_helpers import PIN, balance, count, make_user

REDIS_URL = os.environ.get("WALLET_TEST_REDIS_URL", "")


@pytest.fixture
def people(db):
    return (make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00),
            make_user(db, "+919812345678", "Ravi"))


def post_json(url: str, body: dict, headers: dict[str, str]):
    return http("POST", url, body=json.dumps(body),
                headers={"Content-Type": "application/json", **headers})


def test_eight_concurrent_requests_with_one_key_move_money_once(api, api_wsgi, db, people):
    from wallet.core.models import Transaction

    asha, ravi = people
    token = sign_in(api)
    key = new_key()
    body = {"to_phone": "9812345678", "amount_paise": 100_00, "pin": PIN}
    with serving(api_wsgi, threads=8) as base, ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(
            lambda _: post_json(f"{base}/v1/transfers", body, auth(token, key)), range(8)))
    assert [reply.status for reply in replies] == [201] * 8, [r.body for r in replies]
    assert len({reply.body for reply in replies}) == 1  # the same answer, byte for byte
    assert sum("Idempotent-Replayed" not in reply.headers for reply in replies) == 1
    assert balance(db, asha)[0] == 900_00 and balance(db, ravi)[0] == 100_00
    assert count(db, Transaction) == 2  # Asha's deposit and this one transfer


API_PROCESS = """
import json, os, sys, waitress, api_app
app = api_app.main({}, **json.loads(os.environ["API_SETTINGS"]))
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=2, _quiet=True)
"""


def test_a_token_revoked_through_one_process_is_refused_by_another_at_once(
        api, api_settings, people):
    (port,) = free_ports(1)
    other = subprocess.Popen([sys.executable, "-c", API_PROCESS, str(port)],
                             env={**os.environ, "API_SETTINGS": json.dumps(api_settings)})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: other.poll() is None and _up(base), "the other API process",
                   timeout_s=30)
        keeper, doomed = sign_in(api, device="phone"), sign_in(api, device="old tablet")
        assert http("GET", f"{base}/v1/me", headers=auth(doomed)).status == 200
        tablet = next(t for t in api.get("/v1/tokens", headers=auth(keeper)).json["items"]
                      if t["device_name"] == "old tablet")
        api.delete(f"/v1/tokens/{tablet['id']}", headers=auth(keeper), status=204)
        refused = http("GET", f"{base}/v1/me", headers=auth(doomed))
        assert refused.status == 401 and refused.json()["code"] == "unauthorized"
        assert http("GET", f"{base}/v1/me", headers=auth(keeper)).status == 200
    finally:
        other.terminate()
        other.wait(timeout=10)


def _up(base: str) -> bool:
    try:
        return http("GET", f"{base}/healthz").status == 200
    except OSError:
        return False


@pytest.mark.skipif(not REDIS_URL, reason="needs WALLET_TEST_REDIS_URL (the PostgreSQL pass)")
def test_rate_limits_are_shared_through_redis(api_settings, db, people):

    import api_app
    from api_app.ratelimit import RedisCounter

    settings = {**api_settings, "api.rate_limit_backend": "redis",
                "api.rate_limit_redis_url": REDIS_URL,
                "api.money_requests_per_minute_per_token": "3"}
    RedisCounter(REDIS_URL).redis.flushdb()
    first, second = api_app.main({}, **settings), api_app.main({}, **settings)
    try:
        one, two = (pin_test_app(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
                    for app in (first, second))
        token = sign_in(one)
        body = {"to_phone": "9812345678", "amount_paise": 1_00}
        for app in (one, two, one):  # two processes, one budget
            app.post_json("/v1/transfers", body, headers=auth(token, new_key()), status=201)
        reply = two.post_json("/v1/transfers", body, headers=auth(token, new_key()),
                              status=429)
        assert reply.json["code"] == "rate_limited" and int(reply.headers["Retry-After"]) >= 1
    finally:
        for app in (first, second):
            app.registry["dbsession_factory"].kw["bind"].dispose()
