"""Importing the workers' package reads no settings file (the consumer's
module, huey_tasks.consumer, does), and configure() points the one Huey
instance its tasks are registered on at the configured backend."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every file the import opens (audit hook), and where the queue points.
IMPORT_WORKERS = """
import json, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0]))
                 if event == "open" and str(args[0]).endswith(".ini") else None)
import huey_tasks, huey_tasks.deposits, huey_tasks.housekeeping, huey_tasks.metrics
import huey_tasks.queue, huey_tasks.webhooks, huey_tasks.withdrawals
print(json.dumps({"opened": opened, "storage": type(huey_tasks.huey.storage).__name__,
                  "configured": dict(huey_tasks.worker.raw_settings)}))
"""


def _run(script: str, cwd: Path, ini: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "WALLET_INI": str(ini)})


def test_importing_the_workers_reads_no_ini_file(tmp_path):
    # A file that would make the import fail if it were read at all.
    ini = tmp_path / "workers.ini"
    ini.write_text("this is not an ini file\n")
    (tmp_path / "development.ini").write_text("neither is this\n")
    done = _run(IMPORT_WORKERS, tmp_path, ini)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found == {"opened": [], "storage": "MemoryStorage", "configured": {}}


def test_the_consumers_module_configures_the_workers_from_wallet_ini(tmp_path):
    ini = tmp_path / "workers.ini"
    ini.write_text(f"[app:user]\nuse = egg:wallet#user\nhuey.backend = sqlite\n"
                   f"huey.path = {tmp_path / 'huey.sqlite'}\n")
    done = _run("import huey_tasks, huey_tasks.consumer as c\n"
                "assert c.huey is huey_tasks.huey\n"
                "print(type(c.huey.storage).__name__, c.huey.immediate,"
                " 'process_payouts' in repr(list(c.huey._registry._registry)))",
                tmp_path, ini)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["SqliteStorage", "False", "True"]


def test_a_consumer_without_its_ini_file_stops(tmp_path):
    done = _run("import huey_tasks.consumer", tmp_path, tmp_path / "missing.ini")
    assert done.returncode != 0
    assert "missing.ini" in done.stderr


def test_configure_swaps_the_storage_of_an_immediate_queue(tmp_path):
    import huey_tasks

    try:
        huey_tasks.configure({"huey.backend": "sqlite", "huey.path": str(tmp_path / "q.db")})
        assert type(huey_tasks.huey.storage).__name__ == "SqliteStorage"
        assert huey_tasks.huey.immediate is False
    finally:
        huey_tasks.configure({"huey.backend": "memory"})
    assert type(huey_tasks.huey.storage).__name__ == "MemoryStorage"
