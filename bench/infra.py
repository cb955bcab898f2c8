"""Throw-away infrastructure for the chaos and rehearsal runs: a PostgreSQL and
a Redis of their own (never the machine's shared servers), which a run may
stop, restart and abuse at will, and a WSGI server that can be taken down and
brought back on the same port.

Each server can run inside a network namespace (``wrap``: a command prefix such
as ``["ip", "netns", "exec", "db"]``) and listen on that host's address.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import waitress

ROOT = Path(__file__).resolve().parent.parent


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL server binaries (the newest installed), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def redis_bin() -> str | None:
    return shutil.which("redis-server")


class LocalPostgres:
    """A PostgreSQL cluster in ``workdir`` (trust authentication: a test
    server), on ``host``:``port``. As root, it runs as ``postgres``."""

    def __init__(self, workdir: Path, port: int, host: str = "127.0.0.1",
                 wrap: tuple[str, ...] = ()):
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql)")
        self.data = workdir / "pgdata"
        self.host, self.port, self.wrap = host, port, wrap
        self.log = workdir / "postgres.log"
        self.as_user: tuple[str, ...] = ()
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            self.as_user = ("runuser", "-u", "postgres", "--")
            uid, gid = pwd.getpwnam("postgres")[2:4]
            os.chown(workdir, uid, gid)
        self.down_since: float | None = None

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.wrap, *self.as_user, *command], check=check,
                              capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--no-sync")
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 0.0.0.0/0 trust\n")  # the rehearsal's other hosts
        # fsync off: the "crash" is the server's, never the machine's, so what
        # was written reaches the disk anyway. Commits stay synchronous: a
        # commit the server acknowledged must survive its crash.
        options = (f"-c listen_addresses={self.host} -c port={self.port} "
                   f"-c unix_socket_directories={self.data} -c fsync=off "
                   "-c max_connections=300")
        (self.data / "chaos.opts").write_text(options)

    def start(self) -> None:
        options = (self.data / "chaos.opts").read_text()
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "60", "start")
        self.down_since = None

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: as a crash would (every backend killed at once, crash
        recovery at the next start); ``fast`` for a clean shutdown."""
        self.down_since = time.monotonic()
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop",
                  check=False)

    def url(self, database: str = "wallet") -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user="postgres",
                               dbname="postgres", autocommit=True, connect_timeout=5)

    def create_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def kill_in_transaction(self, rng: random.Random, database: str, victims: int,
                            seconds: float) -> int:
        """Over about ``seconds``, kill (``pg_terminate_backend``) up to
        ``victims`` backends of ``database``, each caught inside a transaction,
        one at a time at random moments (as an operator or a failing node would,
        not a storm that kills every retry too); returns how many were killed."""
        killed = 0
        deadline = time.monotonic() + seconds
        while killed < victims and time.monotonic() < deadline:
            time.sleep(rng.uniform(0, 2 * seconds / victims))
            try:
                with self.admin() as conn:
                    pids = [row[0] for row in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s"
                        " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                        " AND backend_type = 'client backend'", (database,))]
                    if pids:
                        row = conn.execute("SELECT pg_terminate_backend(%s)",
                                           (rng.choice(pids),)).fetchone()
                        killed += bool(row and row[0])
            except psycopg.OperationalError:
                pass  # the server itself is down (another fault): nothing to kill
        return killed

    def destroy(self) -> None:
        self.stop("immediate")


class LocalRedis:
    """A ``redis-server`` with no persistence: a restart comes back empty."""

    def __init__(self, workdir: Path, port: int, host: str = "127.0.0.1",
                 wrap: tuple[str, ...] = ()):
        binary = redis_bin()
        if binary is None:
            raise RuntimeError("redis-server not found")
        self.command = [*wrap, binary, "--port", str(port), "--bind", host, "--save", "",
                        "--appendonly", "no", "--dir", str(workdir), "--protected-mode", "no"]
        self.host, self.port = host, port
        self.log = (workdir / "redis.log").open("a")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.ping():
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host=self.host, port=self.port,
                                    socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """SIGKILL: whatever was queued is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def url(self, index: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{index}"

    def destroy(self) -> None:
        self.stop()
        self.log.close()


class RestartableServer:
    """A WSGI app served by waitress from a thread of this process on loopback
    (any free port). Stopped only at the end of a run: for an app taken down
    mid-run use :class:`AppProcess` (closing a waitress server while its
    workers still answer can write its wake-up byte into another server's
    reused descriptor)."""

    def __init__(self, app: object, threads: int = 8):
        self.app, self.threads = app, threads
        self.server: object | None = None
        self.thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = waitress.create_server(self.app, host="127.0.0.1", port=0,
                                        threads=self.threads, asyncore_loop_timeout=0.1)
        self.port = server.effective_port
        self.server = server
        self.thread = threading.Thread(target=server.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        server: Any = self.server
        if server is None:
            return
        with server.trigger.lock:  # see tests/live_servers.py
            server.trigger.thunks.append(server.close)
            server.trigger.pull_trigger()
        server.task_dispatcher.shutdown()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.server = self.thread = None


def write_ini(path: Path, apps: dict[str, tuple[str, dict[str, Any]]]) -> Path:
    """An ini file of ``[app:NAME]`` sections: name -> (entry point, settings)."""
    lines = []
    for name, (use, settings) in apps.items():
        lines += [f"[app:{name}]", f"use = egg:wallet#{use}"]
        lines += [f"{k} = {str(v).replace('%', '%%')}" for k, v in settings.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


class AppProcess:
    """``[app:NAME]`` of an ini file served by bench/serve_app.py in a process
    of its own on ``host``:``port`` (in a network namespace with ``wrap``); it
    can be killed (SIGKILL: as a crashed server) and started again."""

    def __init__(self, ini: Path, name: str, port: int, host: str = "127.0.0.1",
                 threads: int = 8, wrap: tuple[str, ...] = (), log: Path | None = None):
        self.command = [*wrap, sys.executable, str(ROOT / "bench" / "serve_app.py"), str(ini),
                        name, str(port), str(threads), host]
        self.url = f"http://{host}:{port}"
        self.log = (log or ini.with_name(f"{name}.log")).open("a")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> None:
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.command} did not start") from None
                time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        self.kill()
        self.log.close()


@contextlib.contextmanager
def local_servers(workdir: Path, pg_port: int, redis_port: int):
    """A fresh PostgreSQL (database ``wallet``) and Redis for one run."""
    pg_dir, redis_dir = workdir / "pg", workdir / "redis"
    pg_dir.mkdir()
    redis_dir.mkdir()
    postgres = LocalPostgres(pg_dir, pg_port)
    redis = LocalRedis(redis_dir, redis_port)
    try:
        postgres.init()
        postgres.start()
        postgres.create_database("wallet")
        redis.start()
        yield postgres, redis
    finally:
        redis.destroy()
        postgres.destroy()
