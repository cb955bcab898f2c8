"""The counter's announcer (announcer_app) over real HTTP, and the merchant
app's counter page that hands out its tokens: who may listen, today's
backlog then what is new, a reconnect resuming after its Last-Event-ID,
heartbeats, the token running out, CORS, and the streams' limit."""
from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import urllib.parse
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import webtest

import announcer_app
from announcer_app import AnnouncerApp
from announcer_app.stream import StreamTiming
from wallet.core.codes import IST
from wallet.core.ini import ConfigurationError
from wallet.core.models import CounterEvent, MerchantStore, User
from wallet.merchants.counter import CounterFeed
from wallet.settings import WalletSettings
from webapp.merchant import main as merchant_main

from ..conftest import PRODUCTION_KYC_SETTINGS, dispose_app_engine
from ..live_servers import http, serving, wait_until
from ..sse_client import SseStream
from ..wallet_helpers import PIN, make_user, shop_payments_service
from .test_merchant_app import make_merchant, merchant_login

SECRET = "test-counter-secret-" + "c" * 24
MERCHANT_ORIGIN = "http://merchant.test"
STREAM_URL = "http://127.0.0.1:6549/stream"


class Clock:
    """One clock for the test: the payments', the tokens' and the streams'."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self.now

    def move(self, **delta: float) -> None:
        with self._lock:
            self.now += dt.timedelta(**delta)


@pytest.fixture
def clock():
    return Clock(dt.datetime(2026, 12, 12, 11, 0, tzinfo=IST))


@pytest.fixture
def counter_settings(web_settings):
    return {**web_settings, "wallet.counter_token_secret": SECRET,
            "announcer.stream_url": STREAM_URL}


def announcer(counter_settings, clock, *, max_streams: int = 5,
              heartbeat_s: float = 15.0) -> AnnouncerApp:
    return AnnouncerApp(WalletSettings.from_dict(counter_settings),
                        allowed_origins=frozenset({MERCHANT_ORIGIN}),
                        timing=StreamTiming(poll_interval_s=0.05, heartbeat_s=heartbeat_s,
                                            retry_ms=500),
                        max_streams=max_streams, clock=clock)


@pytest.fixture
def announcer_url(counter_settings, clock):
    app = announcer(counter_settings, clock)
    with served(app) as url:
        yield url


@contextlib.contextmanager
def served(app: AnnouncerApp) -> Iterator[str]:
    """``app`` on a free port; its streams ended before the server stops."""
    try:
        with serving(app) as url:
            try:
                yield url
            finally:
                app.stop()
    finally:
        app.engine.dispose()


@pytest.fixture
def shop(db):
    return make_merchant(db)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=5_000_00)


def first_store(db, shop: int) -> int:
    with db() as session:
        return min(s.id for s in session.query(MerchantStore).filter_by(merchant_id=shop))


def pay(db, clock, payer: int, amount_paise: int, key: str) -> int:
    with db() as session, session.begin():
        return shop_payments_service(session, clock=clock).pay_merchant(
            session.get(User, payer), "chai-point", amount_paise, key, "", pin=PIN).id


def wait_until_final(db) -> None:
    """Until every event written so far is below the horizon (a fresh page's
    backlog then has them all): on a PostgreSQL server shared with others, a
    transaction of another database may hold it back a moment."""
    def final() -> bool:
        with db() as session:
            last = session.scalar(sa.select(sa.func.max(CounterEvent.id))) or 0
            horizon = CounterFeed(session).horizon()
            return session.scalar(sa.select(sa.func.count()).select_from(CounterEvent).where(
                sa.tuple_(CounterEvent.xid, CounterEvent.id) > (horizon.xid, horizon.id))) == 0 \
                or last == 0
    wait_until(final, "the events written to be final", timeout_s=20)


def token_for(counter_settings, clock, shop: int, store: int) -> str:
    from wallet.services import counter_tokens

    return counter_tokens(WalletSettings.from_dict(counter_settings), clock).issue(shop, store)[0]


def stream_url(base: str, token: str, **params: str) -> str:
    return f"{base}/stream?" + urllib.parse.urlencode({"token": token, **params})


def test_today_then_what_is_new_then_a_resume_after_the_last_id(db, clock, shop, asha,
                                                                 counter_settings,
                                                                 announcer_url):
    clock.move(days=-1)
    pay(db, clock, asha, 5_00, "form-key-ann-0001")  # yesterday's: not shown afresh
    clock.move(days=1)
    earlier = pay(db, clock, asha, 250_00, "form-key-ann-0002")
    wait_until_final(db)
    token = token_for(counter_settings, clock, shop, first_store(db, shop))
    stream = SseStream(stream_url(announcer_url, token), origin=MERCHANT_ORIGIN)
    assert stream.status == 200
    assert stream.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert stream.headers["Access-Control-Allow-Origin"] == MERCHANT_ORIGIN
    backlog = stream.next()
    assert backlog is not None and backlog.event == "payment"
    assert backlog.json()["transaction_id"] == earlier
    assert backlog.json()["say"]["en"] == "Chai Point: two hundred and fifty rupees received"
    assert stream.retry_ms == 500
    ready = stream.next()
    assert ready is not None and ready.event == "ready" and ready.id
    new = pay(db, clock, asha, 120_50, "form-key-ann-0003")
    live = stream.next()
    assert live is not None and live.event == "payment" and live.id
    assert live.json()["transaction_id"] == new
    assert live.json()["say"] == {
        "en": "Chai Point: one hundred and twenty rupees and fifty paise received",
        "hi": "Chai Point: एक सौ बीस रुपये पचास पैसे प्राप्त हुए"}
    stream.close()

    missed = [pay(db, clock, asha, 10_00 + i, f"form-key-ann-001{i}") for i in range(3)]
    again = SseStream(stream_url(announcer_url, token), last_event_id=live.id)
    got = [again.next() for _ in range(4)]
    assert [m.event for m in got] == ["ready", "payment", "payment", "payment"]
    assert [m.json()["transaction_id"] for m in got[1:]] == missed
    assert got[0].id == live.id  # nothing new between: the resume point stays
    again.close()
    # The query's last_event_id does the same (a page reconnecting with a new token).
    third = SseStream(stream_url(announcer_url, token, last_event_id=got[2].id))
    assert [third.next().event, third.next().json()["transaction_id"]] == ["ready", missed[2]]
    third.close()


def test_who_may_listen(db, clock, shop, counter_settings, announcer_url):
    store = first_store(db, shop)
    assert http("GET", f"{announcer_url}/stream").status == 401
    assert http("GET", stream_url(announcer_url, "c1.1.1.1.xyz")).status == 401
    foreign = SseStream(stream_url(announcer_url, token_for(
        {**counter_settings, "wallet.counter_token_secret": "another-" + "s" * 30},
        clock, shop, store)))
    assert foreign.status == 401
    token = token_for(counter_settings, clock, shop, store)
    bad_id = SseStream(stream_url(announcer_url, token), last_event_id="12")
    assert (bad_id.status, bad_id.body()) == (400, "Last-Event-ID is not ours")
    with db() as session, session.begin():
        session.get(MerchantStore, store).closed_at = clock()
    assert SseStream(stream_url(announcer_url, token)).status == 403
    other = SseStream(stream_url(announcer_url, token_for(counter_settings, clock, shop + 1,
                                                          store)))
    assert other.status == 403
    refused = http("GET", f"{announcer_url}/stream", headers={"Origin": "http://evil.test"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert http("POST", stream_url(announcer_url, token)).status == 405
    assert http("GET", f"{announcer_url}/readyz").status == 200
    assert http("GET", f"{announcer_url}/elsewhere").status == 404


def test_heartbeats_then_the_token_runs_out(db, clock, shop, counter_settings):
    app = announcer(counter_settings, clock, heartbeat_s=0.1)
    with served(app) as url:
        token = token_for(counter_settings, clock, shop, first_store(db, shop))
        stream = SseStream(stream_url(url, token))
        assert stream.next().event == "ready"
        time.sleep(0.5)  # (some heartbeats)
        clock.move(minutes=11)  # past the token's ten minutes
        ended = stream.next()
        assert ended is not None and ended.event == "expired"
        assert stream.next() is None  # the server ended the stream
        assert "heartbeat" in stream.comments
        assert SseStream(stream_url(url, token)).status == 401


def test_streams_beyond_the_limit_are_told_to_come_back(db, clock, shop, counter_settings):
    app = announcer(counter_settings, clock, max_streams=1, heartbeat_s=0.1)
    with served(app) as url:
        token = token_for(counter_settings, clock, shop, first_store(db, shop))
        first = SseStream(stream_url(url, token))
        assert first.next().event == "ready"
        second = SseStream(stream_url(url, token))
        assert (second.status, second.headers["Retry-After"]) == (503, "5")
        first.close()
        third = None
        for _ in range(50):  # the server notices the hang-up at its next write
            third = SseStream(stream_url(url, token))
            if third.status == 200:
                break
            threading.Event().wait(0.05)
        assert third is not None and third.status == 200
        third.close()


def test_the_announcer_needs_its_secret(web_settings):
    with pytest.raises(ConfigurationError, match="counter_token_secret"):
        announcer_app.main({}, **web_settings)
    app = announcer_app.main({}, **{**web_settings, "wallet.counter_token_secret": SECRET,
                                    "announcer.allowed_origins": "http://a.test http://b.test",
                                    "announcer.poll_interval_s": "0.5"})
    assert app.allowed_origins == {"http://a.test", "http://b.test"}
    assert app.timing.poll_interval_s == 0.5
    app.engine.dispose()
    with pytest.raises(ConfigurationError, match="poll_interval_s"):
        announcer_app.main({}, **{**web_settings, "wallet.counter_token_secret": SECRET,
                                  "announcer.poll_interval_s": "soon"})


# ------------------------------------------------------- the merchant app's page


@pytest.fixture
def counter_app(counter_settings, clock):
    wsgi = merchant_main({}, **counter_settings)
    wsgi.registry["clock"] = clock
    yield webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(wsgi)


def test_the_counter_page_hands_out_tokens_the_announcer_takes(db, clock, shop, counter_app,
                                                                counter_settings):
    assert counter_app.get("/counter").status_int in (302, 303)  # signed out
    merchant_login(counter_app)
    page = counter_app.get("/counter")
    root = page.html.find(id="counter")
    assert root["data-stream-url"] == STREAM_URL
    assert "connect-src 'self' http://127.0.0.1:6549" in page.headers["Content-Security-Policy"]
    assert page.html.find(id="store-form") is None  # one store: no picker
    store = first_store(db, shop)
    app = announcer(counter_settings, clock)
    assert app.tokens.verify(root["data-token"]).store_id == store
    fresh = counter_app.get(f"/counter/token?store={store}").json
    grant = app.tokens.verify(fresh["token"])
    assert (grant.merchant_id, grant.store_id) == (shop, store)
    app.engine.dispose()
    assert counter_app.get("/counter?store=999999", status=404)
    assert counter_app.get("/counter/token?store=abc", status=404)


def test_a_shop_with_several_stores_picks_one(db, clock, shop, counter_app):
    with db() as session, session.begin():
        session.add(MerchantStore(merchant_id=shop, name="Chai Point Station",
                                  handle="chai-station", created_at=clock()))
    merchant_login(counter_app)
    page = counter_app.get("/counter")
    options = page.html.find(id="store").find_all("option")
    assert [o.text for o in options] == ["Chai Point", "Chai Point Station"]
    picked = counter_app.get("/counter", params={"store": options[1]["value"]})
    assert picked.html.find(id="store-name").text == "Chai Point Station"


def test_without_a_secret_the_page_says_it_is_not_set_up(web_settings, shop):
    wsgi = merchant_main({}, **web_settings)
    try:
        app = webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
        merchant_login(app)
        page = app.get("/counter", status=503)
        assert page.html.find(id="counter-unavailable") is not None
        app.get("/counter/token", status=404)
    finally:
        dispose_app_engine(wsgi)
    production = {key: value for key, value in {
        **web_settings, **PRODUCTION_KYC_SETTINGS, "wallet.environment": "production"}.items()
        if key not in ("wallet.counter_token_secret", "announcer.stream_url")}
    with pytest.raises(ConfigurationError, match="counter"):
        merchant_main({}, **production)
