"""PgBouncer in transaction mode in front of the test database (bin/test.sh).

    python -m tests.pgbouncer start DIR UPSTREAM_URL   # prints the URL to test through
    python -m tests.pgbouncer stop DIR

Each test family lives in a schema of its own. Directly, a connection picks
its schema with the ``options=-csearch_path=...`` startup parameter, which
PgBouncer 1.18 refuses ("unsupported startup parameter: options") and which a
pooler could not honour anyway: a server connection serves every client of
its pool. So each schema gets a database alias of its own here, ``<db>__<schema>``,
whose server connections set their ``search_path`` once when they connect
(``connect_query``): a pool per schema, no session state per client.
:func:`tests.conftest.schema_url` picks the alias when
``WALLET_TEST_PGBOUNCER=1``.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import URL, make_url

#: Every schema the suite uses (conftest refuses others under PgBouncer).
TEST_SCHEMAS = ("ledgerlib_tests", "webapp_tests", "chaos_tests", "ledger_migration_tests",
                "pan_migration_tests")


def alias(database: str, schema: str) -> str:
    return f"{database}__{schema}"


def config(upstream: URL, port: int, directory: Path) -> str:
    """pgbouncer.ini: the database itself and one alias per test schema."""
    target = (f"host={upstream.host or '127.0.0.1'} port={upstream.port or 5432} "
              f"dbname={upstream.database}")
    if upstream.password:
        target += f" user={upstream.username} password={upstream.password}"
    lines = ["[databases]", f"{upstream.database} = {target}"]
    lines += [f"{alias(str(upstream.database), schema)} = {target} "
              f"connect_query='SET search_path TO {schema}'" for schema in TEST_SCHEMAS]
    lines += [
        "", "[pgbouncer]",
        "listen_addr = 127.0.0.1", f"listen_port = {port}", "unix_socket_dir =",
        "auth_type = trust", f"auth_file = {directory / 'userlist.txt'}",
        "pool_mode = transaction",
        # Concurrency tests hold several transactions open at once, per schema.
        "default_pool_size = 30", "max_client_conn = 1000",
        f"logfile = {directory / 'pgbouncer.log'}", f"pidfile = {directory / 'pgbouncer.pid'}",
    ]
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(directory: Path, upstream_url: str) -> str:
    """Start PgBouncer (as ``postgres`` when we are root: it refuses root);
    return the URL of the upstream database through it."""
    upstream = make_url(upstream_url)
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (directory / "pgbouncer.ini").write_text(config(upstream, port, directory))
    (directory / "userlist.txt").write_text(f'"{upstream.username or "postgres"}" ""\n')
    command = ["pgbouncer", "-d", str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        for name in ("pgbouncer.ini", "userlist.txt"):
            shutil.chown(directory / name, "postgres")
        command[1:1] = ["-u", "postgres"]
    subprocess.run(command, check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return upstream.set(port=port, host="127.0.0.1").render_as_string(
                hide_password=False)
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"pgbouncer did not listen on port {port}: see {directory}/pgbouncer.log")


def stop(directory: Path) -> None:
    pidfile = directory / "pgbouncer.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "start":
        print(start(Path(sys.argv[2]), sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "stop":
        stop(Path(sys.argv[2]))
    else:
        raise SystemExit(__doc__)
