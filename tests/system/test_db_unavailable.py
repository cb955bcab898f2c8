"""The database or Redis out of reach: clean 503s (never a 500 traceback), a
transparent re-run when a pooled connection was dropped, and /readyz saying so."""
import re
import socket

import pytest
import sqlalchemy as sa
import webtest

from webcommon.unavailable import is_connection_error

from ..conftest import dispose_app_engine


def dead_port() -> int:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_db_settings(web_settings):
    url = f"postgresql+psycopg://wallet@127.0.0.1:{dead_port()}/wallet?connect_timeout=2"
    return {**web_settings, "sqlalchemy.url": url}


def test_user_app_answers_a_clean_503_page_when_the_database_is_down(dead_db_settings):
    import webapp

    app = webtest.TestApp(webapp.main({}, **dead_db_settings))
    page = app.get("/signup")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = app.post("/signup", {"csrf_token": csrf, "phone": "9876500001",
                                   "name": "Asha", "password": "long-enough-pass"},
                       status=503)
    assert "Back in a moment" in refused.text and "Traceback" not in refused.text
    assert refused.headers["Retry-After"] == "5"
    ready = app.get("/readyz", status=503).json
    assert ready["status"] == "not ready"
    assert ready["checks"]["database"].startswith("unreachable")
    dispose_app_engine(app.app)


def test_api_answers_problem_json_503_when_the_database_is_down(dead_db_settings):
    import api_app

    app = webtest.TestApp(api_app.main({}, **{**dead_db_settings,
                                               "api.rate_limit_backend": "memory"}))
    refused = app.get("/v1/me", headers={"Authorization": "Bearer wlt_" + "x" * 43},
                      status=503)
    assert refused.content_type == "application/problem+json"
    assert refused.json["code"] == "service_unavailable"
    dispose_app_engine(app.app)


def test_readyz_is_degraded_not_down_when_redis_is_unreachable(web_settings):
    import webapp

    settings = {**web_settings, "huey.backend": "redis",
                "huey.url": f"redis://127.0.0.1:{dead_port()}/4"}
    app = webtest.TestApp(webapp.main({}, **settings))
    ready = app.get("/readyz", status=200).json
    assert ready["status"] == "degraded"
    assert ready["checks"]["database"] == "ok"
    assert ready["checks"]["task_queue"].startswith("unreachable")
    dispose_app_engine(app.app)


def test_only_connection_errors_count_as_the_database_being_unreachable():
    engine = sa.create_engine(f"postgresql+psycopg://x@127.0.0.1:{dead_port()}/x")
    with pytest.raises(sa.exc.OperationalError) as refused:
        engine.connect()
    assert is_connection_error(refused.value)
    sqlite = sa.create_engine("sqlite://")
    with pytest.raises(sa.exc.OperationalError) as bad_sql, sqlite.connect() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not is_connection_error(bad_sql.value)


def dropped_connection() -> sa.exc.OperationalError:
    import psycopg

    return sa.exc.OperationalError("SELECT", {}, psycopg.OperationalError(
        "server closed the connection unexpectedly"), connection_invalidated=True)


def test_a_dropped_connection_is_retried_transparently_then_answered_503(
        api, db, monkeypatch):
    from wallet.money.activity import Activity

    from ..api_helpers import auth, sign_in
    from ..wallet_helpers import make_user

    make_user(db, "+919876543210")
    token = sign_in(api)
    real_balance = Activity.balance
    failures = {"left": 1}

    def flaky_balance(self, user):
        if failures["left"]:
            failures["left"] -= 1
            raise dropped_connection()
        return real_balance(self, user)

    monkeypatch.setattr(Activity, "balance", flaky_balance)
    # Dropped once: pyramid_retry runs the request again, the caller sees nothing.
    assert api.get("/v1/me", headers=auth(token), status=200).json["balance"]
    # Dropped on every attempt (retry.attempts = 3): a clean, documented 503.
    failures["left"] = 3
    refused = api.get("/v1/me", headers=auth(token), status=503)
    assert refused.json["code"] == "service_unavailable"
    assert refused.headers["Retry-After"] == "5"


def test_a_write_refused_as_read_only_is_a_lost_primary_not_a_bug():
    """SQLSTATE 25006 during a failover: the connection reached a standby being
    promoted (or a demoted primary): re-run, then 503 -- never a 500."""
    import psycopg

    refused = sa.exc.InternalError("UPDATE ...", {}, psycopg.errors.ReadOnlySqlTransaction())
    assert is_connection_error(refused)
    other = sa.exc.InternalError("UPDATE ...", {}, psycopg.errors.InFailedSqlTransaction())
    assert not is_connection_error(other)


def test_the_engine_drops_a_connection_whose_writes_are_refused_as_read_only(app_engine):
    from wallet.db import get_engine

    if app_engine.dialect.name != "postgresql":
        pytest.skip("read-only transactions are PostgreSQL's")
    engine = get_engine({"sqlalchemy.url": app_engine.url.render_as_string(hide_password=False)})
    try:
        with pytest.raises(sa.exc.InternalError) as refused, engine.connect() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql("CREATE TEMPORARY TABLE t (x int)")  # refused: 25006
        assert refused.value.connection_invalidated
    finally:
        engine.dispose()
