"""A short seeded chaos run of the whole system (bench/chaos.py runs the long one)."""
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ON_POSTGRES, reset_postgres_schema, schema_url

ROOT = Path(__file__).resolve().parent.parent


def test_short_chaos_run_conserves_money():
    command = [sys.executable, str(ROOT / "bench" / "chaos.py"), "--seed", "11", "--ops", "150",
               "--users", "8", "--settle-s", "60"]
    if ON_POSTGRES:
        reset_postgres_schema("chaos_tests")
        command += ["--db-url", schema_url("chaos_tests"),
                    "--redis-url", os.environ.get("WALLET_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    lines = result.stdout.strip().splitlines()
    assert lines and lines[-1] == "chaos: ok", result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0
