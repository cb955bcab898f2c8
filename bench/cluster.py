"""A highly available PostgreSQL of a run's own: three etcd members, three
PostgreSQL nodes run by Patroni (synchronous replication, automatic failover,
pg_rewind), and HAProxy sending connections to whichever node Patroni says is
the primary -- Debian's ``etcd-server``, ``patroni`` and ``haproxy``.

Each database host is a :class:`DbHost`: on loopback with ports of its own
(the CI test) or in a network namespace with an address of its own (the
rehearsal, ``wrap`` = the namespace's command prefix). Never the machine's
shared PostgreSQL.

The settings that matter (docs/deploy.md says why):

* ``synchronous_mode`` + ``synchronous_mode_strict``: a COMMIT returns only
  once one standby has flushed it, and with no standby left the primary stops
  acknowledging writes rather than acknowledge them alone (RPO 0). Patroni
  only promotes the synchronous standby, so a failover loses nothing that was
  acknowledged. (Quorum commit, ``synchronous_mode: quorum``, came in Patroni
  4; Debian 12 ships 3.0.)
* ``ttl`` 10 s, ``loop_wait`` 1 s, ``retry_timeout`` 4 s: a primary that cannot
  renew its leader key in etcd demotes itself within ``retry_timeout``, and the
  others may take over only once the key expired (``ttl``) -- the fence.
* ``master_start_timeout`` 0: a primary whose PostgreSQL crashed fails over at
  once instead of trying to restart in place (safe: synchronous mode).
* ``use_pg_rewind``: the old primary rejoins as a standby by itself.
"""
from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.infra import postgres_bin

SCOPE = "wallet"
AS_POSTGRES = ("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--")


@dataclass
class DbHost:
    """One database host: etcd, Patroni and PostgreSQL on ``address``."""

    name: str
    address: str
    pg_port: int
    rest_port: int
    etcd_client_port: int
    etcd_peer_port: int
    wrap: tuple[str, ...] = ()

    @property
    def etcd_url(self) -> str:
        return f"http://{self.address}:{self.etcd_client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.address}:{self.etcd_peer_port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.address}:{self.rest_port}"


def wait_for(what: str, check: Callable[[], Any], timeout_s: float,
             interval_s: float = 0.2) -> Any:
    """Poll ``check`` until it returns something true; that value."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except (OSError, ValueError, psycopg.Error):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout_s} s")
        time.sleep(interval_s)


def get_json(url: str, timeout_s: float = 2) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:  # Patroni answers 503 with a body
        return json.load(error)


def _processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, StopIteration, ValueError):
                status = (entry / "status").read_text()
                parent = int(next(line.split()[1] for line in status.splitlines()
                                  if line.startswith("PPid:")))
                found[int(entry.name)] = (parent, (entry / "cmdline").read_bytes())
    return found


def kill_tree(roots: list[int]) -> None:
    """kill -9 ``roots`` and all their descendants (a postmaster's backends
    outlive it, and keep its shared memory and its network namespace busy)."""
    processes = _processes()
    doomed, todo = set(), [pid for pid in roots if pid]
    while todo:
        pid = todo.pop()
        if pid not in doomed:
            doomed.add(pid)
            todo += [child for child, (parent, _) in processes.items() if parent == pid]
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def kill_mentioning(text: str) -> None:
    """kill -9 every process whose command line names ``text`` (a run's work
    directory), with its descendants."""
    kill_tree([pid for pid, (_, cmdline) in _processes().items()
               if text.encode() in cmdline and pid != os.getpid()])


@dataclass
class Settings:
    """What differs between a safe cluster and the mutation check's."""

    synchronous: bool = True
    ttl: int = 10
    loop_wait: int = 1
    retry_timeout: int = 4
    #: fsync off: the faults crash servers, never the machine (the cost
    #: benchmark turns it on: a commit then waits for the disk as in production).
    fsync: bool = False
    #: bytes a standby may lag and still be promoted (async mode only matters)
    maximum_lag_on_failover: int = 1048576
    extra_parameters: dict[str, Any] = field(default_factory=dict)


class PatroniCluster:
    """etcd on every host, then Patroni (which runs PostgreSQL) on every host."""

    def __init__(self, workdir: Path, hosts: list[DbHost], settings: Settings | None = None):
        self.workdir, self.hosts = workdir, hosts
        self.settings = settings or Settings()
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql)")
        self.etcd: dict[str, subprocess.Popen[bytes] | None] = {}
        self.patroni: dict[str, subprocess.Popen[bytes] | None] = {}
        self.uid, self.gid = pwd.getpwnam("postgres")[2:4]
        workdir.mkdir(parents=True, exist_ok=True)
        for host in hosts:
            (workdir / host.name).mkdir(exist_ok=True)
            os.chown(workdir / host.name, self.uid, self.gid)

    # ---------------------------------------------------------------- etcd

    def start_etcd(self, host: DbHost, state: str = "new") -> None:
        cluster = ",".join(f"{h.name}={h.peer_url}" for h in self.hosts)
        log = (self.workdir / f"{host.name}-etcd.log").open("a")
        self.etcd[host.name] = subprocess.Popen(
            [*host.wrap, "etcd", "--name", host.name,
             "--data-dir", str(self.workdir / f"{host.name}-etcd"),
             "--listen-client-urls", host.etcd_url, "--advertise-client-urls", host.etcd_url,
             "--listen-peer-urls", host.peer_url,
             "--initial-advertise-peer-urls", host.peer_url,
             "--initial-cluster", cluster, "--initial-cluster-state", state,
             "--initial-cluster-token", f"{SCOPE}-{self.workdir.name}",
             "--heartbeat-interval", "100", "--election-timeout", "1000",
             "--logger", "zap", "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT)

    def kill_etcd(self, name: str) -> None:
        process = self.etcd.get(name)
        if process is not None:
            process.kill()
            process.wait()
        self.etcd[name] = None

    def etcd_healthy(self, host: DbHost) -> bool:
        return bool(get_json(f"{host.etcd_url}/health").get("health") == "true")

    # ------------------------------------------------------------- Patroni

    def patroni_config(self, host: DbHost) -> dict[str, Any]:
        s = self.settings
        home = self.workdir / host.name
        parameters = {
            "max_connections": 300, "wal_log_hints": "on", "fsync": "on" if s.fsync else "off",
            "unix_socket_directories": str(home), "max_wal_senders": 10,
            "max_replication_slots": 10, "wal_keep_size": "256MB",
            **s.extra_parameters}
        return {
            "scope": SCOPE, "name": host.name,
            "log": {"level": "INFO"},
            "restapi": {"listen": f"{host.address}:{host.rest_port}",
                        "connect_address": f"{host.address}:{host.rest_port}"},
            "etcd3": {"hosts": [f"{h.address}:{h.etcd_client_port}" for h in self.hosts],
                      "protocol": "http"},
            "bootstrap": {
                "dcs": {"ttl": s.ttl, "loop_wait": s.loop_wait,
                        "retry_timeout": s.retry_timeout,
                        "maximum_lag_on_failover": s.maximum_lag_on_failover,
                        "master_start_timeout": 0,
                        "synchronous_mode": s.synchronous,
                        "synchronous_mode_strict": s.synchronous,
                        "synchronous_node_count": 1,
                        "postgresql": {"use_pg_rewind": True, "use_slots": True,
                                       "parameters": parameters}},
                "initdb": [{"encoding": "UTF8"}, {"auth": "trust"}, "no-sync"],
                "pg_hba": ["local all all trust", "local replication all trust",
                           "host all all 0.0.0.0/0 trust",
                           "host replication all 0.0.0.0/0 trust"]},
            "postgresql": {
                "listen": f"{host.address}:{host.pg_port}",
                "connect_address": f"{host.address}:{host.pg_port}",
                "data_dir": str(home / "data"), "bin_dir": str(self.bin),
                "pgpass": str(home / "pgpass"),
                "authentication": {"superuser": {"username": "postgres"},
                                   "replication": {"username": "postgres"},
                                   "rewind": {"username": "postgres"}},
                "remove_data_directory_on_rewind_failure": True,
                "remove_data_directory_on_diverged_timelines": True,
                "parameters": {"unix_socket_directories": str(home)}},
            "watchdog": {"mode": "off"},  # no /dev/watchdog here: production says "required"
        }

    def config_path(self, host: DbHost) -> Path:
        return self.workdir / host.name / "patroni.yml"

    def start_patroni(self, host: DbHost) -> None:
        path = self.config_path(host)
        path.write_text(json.dumps(self.patroni_config(host), indent=1))  # JSON is YAML
        os.chown(path, self.uid, self.gid)
        log = (self.workdir / f"{host.name}-patroni.log").open("a")
        self.patroni[host.name] = subprocess.Popen(
            [*host.wrap, *AS_POSTGRES, "patroni", str(path)], stdout=log,
            stderr=subprocess.STDOUT, cwd=self.workdir / host.name)

    def postmaster_pid(self, host: DbHost) -> int | None:
        try:
            return int((self.workdir / host.name / "data" / "postmaster.pid")
                       .read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill_postgres(self, name: str) -> None:
        """kill -9 the node's PostgreSQL, postmaster and backends (Patroni lives
        on and notices)."""
        pid = self.postmaster_pid(self.host(name))
        if pid:
            kill_tree([pid])

    def kill_node(self, name: str) -> None:
        """The host dies: kill -9 its Patroni and its PostgreSQL (etcd lives on
        unless killed too: :meth:`kill_etcd`)."""
        process = self.patroni.get(name)
        if process is not None:
            process.kill()
            process.wait()
        self.patroni[name] = None
        self.kill_postgres(name)

    def start_node(self, name: str) -> None:
        self.start_patroni(self.host(name))

    def host(self, name: str) -> DbHost:
        return next(h for h in self.hosts if h.name == name)

    # -------------------------------------------------------------- status

    def members(self) -> list[dict[str, Any]]:
        """Patroni's view of the cluster (from any node's REST API that answers)."""
        for host in self.hosts:
            with contextlib.suppress(OSError, ValueError):
                return list(get_json(f"{host.rest_url}/cluster", 1)["members"])
        return []

    def leader(self) -> str | None:
        return next((m["name"] for m in self.members()
                     if m["role"] in ("leader", "master") and m["state"] == "running"), None)

    def healthy(self, standbys: int = 2) -> dict[str, str] | None:
        """{name: role} once there is a leader, ``standbys`` running replicas,
        and (synchronous mode) a synchronous standby among them."""
        members = self.members()
        roles = {m["name"]: m["role"] for m in members if m["state"] in ("running", "streaming")}
        replicas = [n for n, r in roles.items() if r in ("replica", "sync_standby")]
        if not any(r in ("leader", "master") for r in roles.values()) or len(replicas) < standbys:
            return None
        if self.settings.synchronous and "sync_standby" not in roles.values():
            return None
        return roles

    def metrics(self, name: str) -> dict[str, float]:
        """Patroni's Prometheus metrics of ``name`` (labels dropped)."""
        with urllib.request.urlopen(f"{self.host(name).rest_url}/metrics", timeout=2) as page:
            lines = page.read().decode().splitlines()
        return {line.split("{")[0].split()[0]: float(line.split()[-1])
                for line in lines if line and not line.startswith("#")}

    def connect(self, name: str, database: str = "postgres",
                timeout_s: int = 3) -> psycopg.Connection[Any]:
        host = self.host(name)
        return psycopg.connect(host=host.address, port=host.pg_port, user="postgres",
                               dbname=database, autocommit=True, connect_timeout=timeout_s)

    def patronictl(self, *args: str) -> None:
        """One patronictl command, run as the leader's host sees the cluster."""
        name = self.leader() or self.hosts[0].name
        host = self.host(name)
        subprocess.run([*host.wrap, *AS_POSTGRES, "patronictl", "-c",
                        str(self.config_path(host)), *args],
                       check=True, capture_output=True, text=True, timeout=60)

    @contextlib.contextmanager
    def maintenance(self) -> Iterator[None]:
        """Patroni in maintenance mode (``patronictl pause``): it neither fails
        over nor touches PostgreSQL meanwhile -- in particular it does not
        resume a standby's paused WAL replay, which it does otherwise on
        PostgreSQL 14+ at its next loop (``handle_parameter_change``)."""
        self.patronictl("pause", "--wait")
        try:
            yield
        finally:
            self.patronictl("resume", "--wait")

    def switchover(self, candidate: str | None = None) -> str:
        """A planned switchover (patronictl, one command); the new leader."""
        leader = self.leader()
        if leader is None:
            raise RuntimeError("no leader to switch over from")
        if candidate is None:
            roles = self.healthy() or {}
            candidate = next(n for n, r in roles.items() if r == "sync_standby")
        host = self.host(leader)
        subprocess.run([*host.wrap, *AS_POSTGRES, "patronictl", "-c",
                        str(self.config_path(host)), "switchover", "--leader", leader,
                        "--candidate", candidate, "--force"],
                       check=True, capture_output=True, text=True, timeout=60)
        return candidate

    # ----------------------------------------------------------- lifecycle

    def start(self, timeout_s: float = 90) -> None:
        for host in self.hosts:
            self.start_etcd(host)
        for host in self.hosts:
            wait_for(f"etcd on {host.name}", lambda h=host: self.etcd_healthy(h), 30)
        self.start_patroni(self.hosts[0])  # the first bootstraps; the others clone it
        wait_for("the first primary", self.leader, timeout_s)
        for host in self.hosts[1:]:
            self.start_patroni(host)
        wait_for("two streaming standbys", self.healthy, timeout_s)

    def stop(self) -> None:
        for name in list(self.patroni):
            self.kill_node(name)
        for name in list(self.etcd):
            self.kill_etcd(name)
        # A PostgreSQL that Patroni was starting as it died (no postmaster.pid yet).
        kill_mentioning(str(self.workdir))


class HAProxy:
    """Two front doors, health-checked against Patroni's REST API every
    second: ``primary_port`` goes to the node whose /primary answers 200 (the
    leader-key holder), ``replica_port`` to the standbys whose /replica
    answers 200 (running, and not lagging more than ``max_lag`` behind). A
    node marked down has its connections cut (``on-marked-down
    shutdown-sessions``): no client stays on an old primary."""

    def __init__(self, workdir: Path, hosts: list[DbHost], address: str, primary_port: int,
                 replica_port: int, wrap: tuple[str, ...] = (), max_lag: str = "16MB",
                 name: str = "haproxy"):
        self.address, self.primary_port, self.replica_port = address, primary_port, replica_port
        self.wrap = wrap
        self.config = workdir / f"{name}.cfg"
        self.log = workdir / f"{name}.log"
        servers = [(h.name, f"{h.address}:{h.pg_port}", h.rest_port) for h in hosts]
        lines = ["global", "    maxconn 2000", "defaults", "    mode tcp",
                 "    timeout connect 2s", "    timeout client 30m", "    timeout server 30m",
                 "    timeout check 1s",
                 "    default-server inter 1s fastinter 500ms fall 2 rise 1 "
                 "on-marked-down shutdown-sessions"]
        for door, port, check in (("primary", primary_port, "/primary"),
                                  ("replicas", replica_port, f"/replica?lag={max_lag}")):
            lines += [f"listen {door}", f"    bind {address}:{port}",
                      "    option httpchk", f"    http-check send meth GET uri {check}",
                      "    http-check expect status 200"]
            lines += [f"    server {n} {a} check port {p}" for n, a, p in servers]
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log.open("a")
        self.process = subprocess.Popen([*self.wrap, "haproxy", "-f", str(self.config), "-db"],
                                        stdout=log, stderr=subprocess.STDOUT)
        wait_for("haproxy", lambda: self.process is not None and self.process.poll() is None
                 and self._listening(), 10)

    def _listening(self) -> bool:
        """The primary answers through the front door (from the proxy's host)."""
        return subprocess.run([*self.wrap, "pg_isready", "-q", "-h", self.address, "-p",
                               str(self.primary_port), "-U", "postgres", "-t", "2"],
                              check=False).returncode == 0

    def url(self, database: str = "wallet", replica: bool = False) -> str:
        port = self.replica_port if replica else self.primary_port
        return f"postgresql+psycopg://postgres@{self.address}:{port}/{database}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextlib.contextmanager
def running(cluster: PatroniCluster) -> Iterator[PatroniCluster]:
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
