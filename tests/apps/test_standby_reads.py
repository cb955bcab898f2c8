"""Read pages on a standby (webcommon.reads). A standby that is not fresh
enough -- here the "standby" is the primary itself, which is not in recovery,
or SQLite, which has no WAL position -- is never used: the page reads the
primary and says so. The real standby (replay paused, read-your-writes, a
rolled-back payment never shown) is checked by the failover drill
(bench/read_drill.py, tests/system/test_failover_cluster.py)."""
import pytest

from ..conftest import dispose_app_engine
from ..wallet_helpers import PinForm, login, make_user

ASHA, RAVI = "+919876543210", "+919812345678"


@pytest.fixture
def app_with_reads(web_settings):
    import webtest

    import webapp

    # The "standby" is the test database itself (not in recovery: never fresh).
    wsgi = webapp.main({}, **web_settings, **{"sqlalchemy.read_url": web_settings[
        "sqlalchemy.url"]})
    yield webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
    dispose_app_engine(wsgi)
    wsgi.registry["read_dbsession_factory"].kw["bind"].dispose()


def send(app, phone: str, amount: str):
    form = PinForm(app.get("/send").forms["send-form"])
    form["phone"], form["amount"] = phone, amount
    return form.submit(status=303)


def test_history_reads_the_primary_when_the_standby_is_not_fresh(app_with_reads, db):
    make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi Kumar")
    assert login(app_with_reads, "98765 43210").status_int == 303
    sent = send(app_with_reads, "98123 45678", "12.34")
    history = app_with_reads.get("/transactions")
    assert history.headers["X-Read-From"] == "primary"
    assert sent.location.split("?")[0].replace("http://localhost", "") in history.text


def test_without_a_read_url_pages_read_the_primary_session(user_app, db):
    make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    assert login(user_app, "98765 43210").status_int == 303
    page = user_app.get("/transactions")
    assert "X-Read-From" not in page.headers
    assert user_app.app.registry["read_dbsession_factory"] is None
