"""The faults of the failover rehearsal (bench/failover_rehearsal.py), each a
function of a :class:`bench.faults.Window`: it waits until the previous fault
has healed (the cluster whole again), marks the window's start, does its harm,
and returns once the cluster is whole again (the old primary back as a
standby), noting what happened in ``window.detail``."""
from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.cluster import PatroniCluster, wait_for
from bench.faults import Window
from bench.redis_ha import SentinelGroup

HEAL_S = 120


def walsenders(cluster: PatroniCluster, name: str) -> list[int]:
    """The WAL sender processes of ``name``'s PostgreSQL (one per standby)."""
    postmaster = cluster.postmaster_pid(cluster.host(name))
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            status = (entry / "status").read_text()
            parent = next(int(line.split()[1]) for line in status.splitlines()
                          if line.startswith("PPid:"))
            if parent == postmaster and b"walsender" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


class FailoverFaults:
    """The rehearsal's fault actions on its cluster, Redis and network."""

    def __init__(self, rng: random.Random, cluster: PatroniCluster, redis: SentinelGroup,
                 netns_of: Callable[[str], str]):
        self.rng, self.cluster, self.redis, self.netns_of = rng, cluster, redis, netns_of
        self.lock = threading.Lock()  # one fault at a time: each heals before the next

    def _begin(self, window: Window) -> None:
        wait_for("the cluster whole before a fault", self.cluster.healthy, HEAL_S)
        window.start = time.monotonic()

    def _whole_again(self, window: Window, old: str) -> None:
        roles = wait_for(f"{old} back as a standby",
                         lambda: (r := self.cluster.healthy()) and r.get(old) in (
                             "replica", "sync_standby") and r, HEAL_S)
        window.detail += f"; {old} rejoined as {roles[old]} after " \
                         f"{time.monotonic() - window.start:.1f} s"

    def _new_leader(self, window: Window, old: str) -> str:
        leader = str(wait_for("a new primary",
                              lambda: (n := self.cluster.leader()) != old and n, HEAL_S))
        window.detail = f"({old} -> {leader} in {time.monotonic() - window.start:.1f} s"
        return leader

    def kill_primary_postgres(self, window: Window) -> None:
        """kill -9 the primary's PostgreSQL; its Patroni lives on, lets go of
        the leader key (master_start_timeout 0) and rejoins by pg_rewind."""
        with self.lock:
            self._begin(window)
            old = str(self.cluster.leader())
            self.cluster.kill_postgres(old)
            self._new_leader(window, old)
            self._whole_again(window, old)
            window.detail += ")"

    def partition_primary(self, window: Window) -> None:
        """The primary's host loses its network (load goes on elsewhere); it
        comes back a few seconds after a new primary was elected."""
        with self.lock:
            self._begin(window)
            old = str(self.cluster.leader())
            namespace = self.netns_of(old)
            subprocess.run(["ip", "-n", namespace, "link", "set", "eth0", "down"], check=True)
            try:
                self._new_leader(window, old)
                time.sleep(self.rng.uniform(2, 5))  # the old one stays cut off a while
            finally:
                subprocess.run(["ip", "-n", namespace, "link", "set", "eth0", "up"],
                               check=True)
            self._whole_again(window, old)
            window.detail += ")"

    def switchover(self, window: Window) -> None:
        with self.lock:
            self._begin(window)
            old = str(self.cluster.leader())
            new = self.cluster.switchover()
            wait_for("the switchover", lambda: self.cluster.leader() == new, HEAL_S)
            window.detail = f"({old} -> {new} in {time.monotonic() - window.start:.1f} s"
            self._whole_again(window, old)
            window.detail += ")"

    def kill_etcd_member(self, window: Window) -> None:
        """kill -9 one etcd member (two of three keep the quorum); back after a while."""
        with self.lock:
            self._begin(window)
            victim = self.rng.choice(self.cluster.hosts)
            self.cluster.kill_etcd(victim.name)
            time.sleep(self.rng.uniform(3, 6))
            self.cluster.start_etcd(victim, state="existing")
            wait_for("etcd back", lambda: self.cluster.etcd_healthy(victim), 30)
            window.detail = f"(etcd on {victim.name}; leader stayed {self.cluster.leader()})"

    def kill_redis_master(self, window: Window) -> None:
        """kill -9 the Redis master: Sentinel promotes a replica; queued tasks
        not yet copied are lost (the sweeps find the work again)."""
        with self.lock:
            self._begin(window)
            old = self.redis.master()
            if old is None:
                return
            self.redis.kill(old)
            new = wait_for("a new Redis master",
                           lambda: (m := self.redis.master()) != old and m, 60)
            window.detail = f"({old} -> {new} in {time.monotonic() - window.start:.1f} s)"
            time.sleep(1)
            self.redis.restart(old)

    def stall_replication_then_kill_primary(self, window: Window) -> None:
        """The mutation: the primary's WAL senders stop (SIGSTOP, as a
        congested link would stall replication) for a few seconds, then the
        primary's host dies. With synchronous replication no commit could be
        acknowledged meanwhile; with asynchronous replication and any lag
        allowed at failover, the commits acknowledged meanwhile are lost."""
        with self.lock:
            self._begin(window)
            old = str(self.cluster.leader())
            stalled = walsenders(self.cluster, old)
            for pid in stalled:
                os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(self.rng.uniform(3, 5))
                self.cluster.kill_node(old)
            finally:
                for pid in stalled:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGCONT)
            self._new_leader(window, old)
            window.detail += f", {len(stalled)} WAL senders stalled"
            self.cluster.start_node(old)
            self._whole_again(window, old)
            window.detail += ")"

    def actions(self) -> dict[str, Callable[[Window], None]]:
        return {"primary kill -9": self.kill_primary_postgres,
                "primary partition": self.partition_primary,
                "etcd member kill": self.kill_etcd_member,
                "redis master kill": self.kill_redis_master,
                "switchover": self.switchover,
                "replication stalled, primary killed": self.stall_replication_then_kill_primary}
