"""examples/api_client.py, run for real: its whole flow over HTTP against the
API app, the fake bank (net-banking page, payout API, webhook sender thread)
and the webhook app, each served by waitress on a loopback port, with a Huey
consumer's worker threads paying the withdrawal out."""
from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

import api_app
import fake_bank
import huey_tasks
import ledgerlib
import webhook_app
from wallet.core.models import Transaction
from wallet.identity.models import ApiToken

from ..conftest import dispose_app_engine
from ..live_servers import free_ports, serving
from ..wallet_helpers import PASSWORD, balance, make_user

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "api_client.py"
ASHA, RAVI = "+919876543210", "+919812345678"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("api_client_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up)
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def stop_sender(thread) -> None:
    thread.stop()
    assert not thread.is_alive()


@pytest.fixture
def api_url(web_settings, tmp_path):
    """The API app's URL, with the fake bank, the webhook app and workers behind it."""
    api_port, webhook_port, bank_port = free_ports(3)
    bank_url = f"http://127.0.0.1:{bank_port}"
    settings = {**web_settings, "api.rate_limit_backend": "memory",
                "huey.backend": "sqlite", "huey.path": str(tmp_path / "huey.db"),
                "wallet.bank_timeout_s": "5"}
    for code in ("hdfc", "axis"):
        settings[f"banks.{code}.netbanking_url"] = f"{bank_url}/{code}/netbanking"
        settings[f"banks.{code}.api_url"] = f"{bank_url}/{code}/api"
    bank_settings = {
        **settings,
        "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'fake_bank.sqlite'}",
        "fake_bank.webhook_url": f"http://127.0.0.1:{webhook_port}/webhooks/{{bank}}",
        "fake_bank.sender": "thread", "fake_bank.latency_ms": "0", "fake_bank.seed": "5",
    }
    with contextlib.ExitStack() as cleanup:  # undone last to first
        webhook_wsgi = webhook_app.main({}, **settings)
        cleanup.callback(dispose_app_engine, webhook_wsgi)
        # The API app points huey_tasks' queue at huey.path (what it enqueues
        # must land where the workers look).
        api_wsgi = api_app.main({}, **settings)
        cleanup.callback(dispose_app_engine, api_wsgi)
        bank_wsgi = fake_bank.main({}, **bank_settings)
        cleanup.callback(bank_wsgi.registry["fb.session_factory"].kw["bind"].dispose)
        cleanup.callback(stop_sender, bank_wsgi.registry["fb.sender"])
        cleanup.enter_context(serving(webhook_wsgi, webhook_port))
        cleanup.enter_context(serving(bank_wsgi, bank_port))
        url = cleanup.enter_context(serving(api_wsgi, api_port))
        huey_tasks.huey.flush()
        consumer = huey_tasks.huey.create_consumer(workers=2, worker_type="thread",
                                                   periodic=False, check_worker_health=False)
        consumer.start()

        def stop_workers():
            consumer.stop(graceful=True)
            huey_tasks.huey.flush()
            huey_tasks.configure({"huey.backend": "memory"})

        cleanup.callback(stop_workers)
        yield url


def test_the_example_client_runs_its_whole_flow(example, api_url, db, capsys):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi")

    status = example.main(["--base-url", api_url, "--phone", ASHA, "--password", PASSWORD,
                           "--to", RAVI, "--poll-every", "0.1", "--timeout", "30"])

    out, err = capsys.readouterr()
    assert status == 0, out + err
    assert "deposit" in out and ": success" in out
    assert "Idempotent-Replayed: true" in out
    assert ": completed (1 bank call(s), last send -> accepted)" in out
    assert out.rstrip().endswith("revoked).")
    # 1,000.00 + 500.00 added - 120.50 sent - 200.00 withdrawn, nothing held.
    assert balance(db, asha) == (1_000_00 + 500_00 - 120_50 - 200_00, 0)
    assert balance(db, ravi) == (120_50, 0)
    with db() as session:
        kinds = sorted((t.kind, t.status) for t in session.scalars(select(Transaction)))
        assert kinds == [("deposit", "success"), ("deposit", "success"),
                         ("transfer", "completed"), ("withdrawal", "completed")]
        assert [t.revoked_at is not None for t in session.scalars(select(ApiToken))] == [True]
        assert ledgerlib.verify(session).ok


def test_a_refusal_is_reported_with_its_code(example, api_url, db, capsys):
    make_user(db, ASHA, "Asha")
    status = example.main(["--base-url", api_url, "--phone", ASHA,
                           "--password", "not the password"])
    _, err = capsys.readouterr()
    assert status == 1
    assert err.startswith("The API refused: 401 invalid_credentials")
