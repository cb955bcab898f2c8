"""Short seeded chaos runs of the whole system (bench/chaos.py runs the long ones)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import ON_POSTGRES, reset_postgres_schema, schema_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.infra import postgres_bin  # noqa: E402


def run_chaos(*options: str, timeout_s: int = 300) -> str:
    command = [sys.executable, str(ROOT / "bench" / "chaos.py"), *options]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = result.stdout.strip().splitlines()
    assert lines and lines[-1] == "chaos: ok", result.stdout[-4000:] + result.stderr[-3000:]
    assert result.returncode == 0
    return result.stdout


def test_short_chaos_run_conserves_money():
    options = ["--seed", "11", "--ops", "150", "--users", "8", "--settle-s", "60"]
    if ON_POSTGRES:
        reset_postgres_schema("chaos_tests")
        options += ["--db-url", schema_url("chaos_tests"),
                    "--redis-url", os.environ.get("WALLET_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")]
    run_chaos(*options)


@pytest.mark.skipif(postgres_bin() is None or shutil.which("redis-server") is None,
                    reason="needs Debian's PostgreSQL server binaries and redis-server")
@pytest.mark.skipif(ON_POSTGRES, reason="brings its own servers: run once, in the SQLite pass")
def test_short_chaos_run_survives_infrastructure_faults():
    """PostgreSQL crashed and restarted twice, backends killed mid-transaction,
    Redis restarted empty, the webhook app and a worker killed: money still
    conserved, no 5xx while the database was up, /readyz told the truth and
    every app recovered by itself."""
    out = run_chaos("--seed", "11", "--ops", "150", "--users", "8", "--settle-s", "90",
                    "--infra-faults", timeout_s=600)
    assert "faults injected                  9" in out
    assert "postgres restart [user app]" in out and "redis restart [user app]" in out
