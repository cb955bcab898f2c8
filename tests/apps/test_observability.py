"""Request ids and JSON logs."""
import json
import logging

from wallet.core.observability import JsonFormatter, request_id_var

from ..wallet_helpers import login, make_user


def test_request_id_is_returned_and_sane_ones_are_kept(user_app):
    fresh = user_app.get("/healthz")
    assert len(fresh.headers["X-Request-Id"]) == 32
    kept = user_app.get("/healthz", headers={"X-Request-Id": "lb-1234.abc"})
    assert kept.headers["X-Request-Id"] == "lb-1234.abc"
    replaced = user_app.get("/healthz", headers={"X-Request-Id": "evil\nid" + "x" * 100})
    assert replaced.headers["X-Request-Id"] != "evil\nid" + "x" * 100


def test_json_formatter_writes_one_object_per_line_with_the_request_id():
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("webapp.x", logging.INFO, __file__, 1, "paid %s", ("wd_1",),
                                   None)
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "paid wd_1" and entry["request_id"] == "req-42"
    assert entry["level"] == "INFO" and "\n" not in line


def test_readyz_checks_the_database(user_app):
    assert user_app.get("/readyz").json == {
        "status": "ready", "checks": {"database": "ok", "task_queue": "ok"}}


def test_readyz_is_ready_for_a_signed_in_caller_too(user_app, db):
    # pyramid_tm's user annotation loaded the account first: on SQLite its
    # transaction held the lock /readyz's own session waited 30 s for, then 503.
    make_user(db, "+919876543210", "Asha")
    assert login(user_app, "+919876543210").status_int == 303
    assert user_app.get("/readyz").json["status"] == "ready"
