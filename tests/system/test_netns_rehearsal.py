"""The several-hosts rehearsal (bench/netns_rehearsal.py): network namespaces
for the database + Redis, two user apps, the webhook app, the workers and the
bank; the allow-list refuses a signed webhook from an app host; the chaos
workload conserves money across the hosts."""
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ..conftest import ON_POSTGRES

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.infra import postgres_bin  # noqa: E402


def netns_permitted() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"wr-probe-{uuid.uuid4().hex[:6]}"
    added = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if added:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return added


pytestmark = [
    pytest.mark.skipif(ON_POSTGRES, reason="brings its own servers: run once, in the SQLite pass"),
    pytest.mark.skipif(postgres_bin() is None or shutil.which("redis-server") is None,
                       reason="needs Debian's PostgreSQL server binaries and redis-server"),
]


def test_rehearsal_on_several_hosts():
    if not netns_permitted():
        pytest.skip("ip netns is not permitted here (needs root and CAP_SYS_ADMIN)")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "netns_rehearsal.py"), "--seed", "5",
         "--ops", "80"], capture_output=True, text=True, timeout=420,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = result.stdout
    assert out.strip().splitlines()[-1:] == ["rehearsal: ok"], out[-4000:] + result.stderr[-3000:]
    assert "signed webhook from user1 (app host) 403, deposit pending" in out
    assert "signed webhook from bank host    200, deposit failed" in out
    # Every webhook the bank sent came from its own address and was heard.
    assert "webhooks from 10.77.0.50 answered 200" in out
    assert result.returncode == 0
