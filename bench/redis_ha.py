"""Redis with Sentinel, of a run's own (Debian's ``redis-server`` and
``redis-sentinel``): one master, its replicas and three sentinels, on loopback
ports or on the rehearsal's hosts (``wrap``: a network namespace's prefix).
Sentinel fails over once a quorum of 2 sentinels has not heard from the master
for ``down_after_ms``; clients find the master through ``url()``
(``redis+sentinel://``, wallet.core.redis_urls)."""
from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import redis

from bench.cluster import wait_for

SERVICE = "wallet"


@dataclass
class RedisHost:
    name: str
    address: str
    port: int
    sentinel_port: int
    wrap: tuple[str, ...] = ()


class SentinelGroup:
    def __init__(self, workdir: Path, hosts: list[RedisHost], down_after_ms: int = 1000,
                 failover_timeout_ms: int = 5000):
        self.workdir, self.hosts = workdir, hosts
        self.down_after_ms, self.failover_timeout_ms = down_after_ms, failover_timeout_ms
        self.servers: dict[str, subprocess.Popen[bytes] | None] = {}
        self.sentinels: dict[str, subprocess.Popen[bytes] | None] = {}
        workdir.mkdir(parents=True, exist_ok=True)

    def host(self, name: str) -> RedisHost:
        return next(h for h in self.hosts if h.name == name)

    def start_server(self, host: RedisHost, replica_of: RedisHost | None) -> None:
        directory = self.workdir / host.name
        directory.mkdir(exist_ok=True)
        command = [*host.wrap, "redis-server", "--port", str(host.port), "--bind", host.address,
                   "--save", "", "--appendonly", "no", "--dir", str(directory),
                   "--protected-mode", "no"]
        if replica_of is not None:
            command += ["--replicaof", replica_of.address, str(replica_of.port)]
        log = (self.workdir / f"{host.name}-redis.log").open("a")
        self.servers[host.name] = subprocess.Popen(command, stdout=log,
                                                   stderr=subprocess.STDOUT)
        wait_for(f"redis on {host.name}", lambda: self.ping(host), 10, 0.05)

    def start_sentinel(self, host: RedisHost, master: RedisHost) -> None:
        config = self.workdir / f"{host.name}-sentinel.conf"  # Sentinel rewrites it
        config.write_text("\n".join([
            f"port {host.sentinel_port}", f"bind {host.address}", "protected-mode no",
            f"dir {self.workdir}",
            f"sentinel monitor {SERVICE} {master.address} {master.port} 2",
            f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}",
            f"sentinel failover-timeout {SERVICE} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {SERVICE} 1"]) + "\n")
        log = (self.workdir / f"{host.name}-sentinel.log").open("a")
        self.sentinels[host.name] = subprocess.Popen(
            [*host.wrap, "redis-sentinel", str(config)], stdout=log, stderr=subprocess.STDOUT)

    @staticmethod
    def ping(host: RedisHost) -> bool:
        try:
            return bool(redis.Redis(host=host.address, port=host.port,
                                    socket_connect_timeout=0.5, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def master(self) -> str | None:
        """The name of the host the sentinels (a majority of those answering) call master."""
        votes: dict[str, int] = {}
        for host in self.hosts:
            with contextlib.suppress(redis.RedisError):
                sentinel = redis.Redis(host=host.address, port=host.sentinel_port,
                                       socket_timeout=0.5, socket_connect_timeout=0.5)
                address = sentinel.execute_command("SENTINEL", "get-master-addr-by-name",
                                                   SERVICE)
                if address:
                    found = (address[0].decode(), int(address[1]))
                    name = next((h.name for h in self.hosts
                                 if (h.address, h.port) == found), None)
                    if name:
                        votes[name] = votes.get(name, 0) + 1
        return max(votes, key=lambda n: votes[n]) if votes else None

    def start(self) -> None:
        first = self.hosts[0]
        self.start_server(first, None)
        for host in self.hosts[1:]:
            self.start_server(host, first)
        for host in self.hosts:
            self.start_sentinel(host, first)
        wait_for("sentinels agreeing on the master", lambda: self.master() == first.name, 20)

    def kill(self, name: str) -> None:
        """kill -9 the Redis server on ``name`` (its sentinel lives on)."""
        process = self.servers.get(name)
        if process is not None:
            process.kill()
            process.wait()
        self.servers[name] = None

    def restart(self, name: str) -> None:
        """Back as a replica of the current master (as its sentinels would make it)."""
        master = self.master()
        self.start_server(self.host(name), self.host(master) if master and master != name
                          else None)

    def url(self, db: int = 0) -> str:
        sentinels = ",".join(f"{h.address}:{h.sentinel_port}" for h in self.hosts)
        return f"redis+sentinel://{sentinels}/{SERVICE}/{db}"

    def stop(self) -> None:
        for processes in (self.sentinels, self.servers):
            for name, process in processes.items():
                if process is not None:
                    process.kill()
                    process.wait()
                processes[name] = None
