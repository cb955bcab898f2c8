"""Infrastructure faults for the chaos run, and what the apps' health checks
said about them.

:class:`Faults` plans seeded faults at points of the run (a fraction of the
operations done) and injects them while the clients keep going: PostgreSQL
crashed and restarted, backends killed inside their transactions, Redis
restarted empty, the webhook app taken down for a while, a worker killed. Each
fault leaves a :class:`Window` (when it began and ended).

:class:`HealthMonitor` polls every app's /readyz and keeps what it answered, so
the run can tell whether the apps said they were degraded during a fault and
how long they took to recover after it.
"""
from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

#: 503s are right while the database is down, and a moment after (pools reconnect).
GRACE_S = 1.5
#: Faults during which no primary may be reachable for a while (503s are right).
DATABASE_FAULTS = frozenset({"postgres restart", "primary kill -9", "primary partition",
                             "switchover", "replication stalled, primary killed"})
#: How long an app may take to say "ready" again after a fault ended.
RECOVERY_LIMIT_S = 20.0


@dataclass
class Window:
    kind: str
    start: float
    end: float = 0.0
    detail: str = ""


@dataclass
class Faults:
    """The seeded fault plan of one run, and the windows of the faults done."""

    rng: random.Random
    ops: int
    actions: dict[str, Callable[[Window], None]]
    #: (kind, fraction of the run) once, instead of rounds of SCHEDULE
    schedule: tuple[tuple[str, float], ...] | None = None
    windows: list[Window] = field(default_factory=list)
    plan: dict[int, str] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)

    #: Kinds of fault and where in the run (fraction of operations) they come.
    SCHEDULE = (("kill backends", 0.1), ("webhook app down", 0.2), ("kill backends", 0.3),
                ("postgres restart", 0.4), ("worker kill", 0.5), ("redis restart", 0.6),
                ("kill backends", 0.7), ("postgres restart", 0.8), ("kill backends", 0.9))

    #: One round of SCHEDULE per this many operations (at least one round).
    OPS_PER_ROUND = 400

    def __post_init__(self) -> None:
        rounds = 1 if self.schedule else max(1, self.ops // self.OPS_PER_ROUND)
        for round_ in range(rounds):
            for kind, at in self.schedule or self.SCHEDULE:
                if kind in self.actions:
                    self._place(kind, (round_ + at + self.rng.uniform(-0.04, 0.04)) / rounds)

    def _place(self, kind: str, fraction: float) -> None:
        index = min(max(int(self.ops * fraction), 1), self.ops - 1)
        while index in self.plan and index < self.ops - 1:
            index += 1
        self.plan[index] = kind

    def at(self, index: int) -> None:
        """After operation ``index``: inject the fault planned there (in a
        thread of its own: the clients and the other faults go on)."""
        kind = self.plan.get(index)
        if kind is None:
            return
        window = Window(kind, time.monotonic())
        self.windows.append(window)

        def inject() -> None:
            try:
                self.actions[kind](window)
            finally:
                window.end = time.monotonic()

        thread = threading.Thread(target=inject, name=f"fault-{kind}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait(self) -> None:
        for thread in self._threads:
            thread.join(timeout=120)

    def nearest(self, moment: float) -> str:
        """Which fault ``moment`` was closest to, for a problem's message."""
        if not self.windows:
            return "no fault"
        window = min(self.windows, key=lambda w: min(abs(moment - w.start),
                                                       abs(moment - (w.end or moment))))
        return (f"{moment - window.start:+.1f} s from the start of {window.kind} "
                f"({window.end - window.start:.1f} s long)")

    def database_down(self, start: float, end: float) -> bool:
        """Did [start, end] overlap a time the database was down (or just back)?"""
        return any(w.kind in DATABASE_FAULTS and start <= (w.end or time.monotonic()) + GRACE_S
                   and end >= w.start for w in self.windows)


class HealthMonitor(threading.Thread):
    """Polls each app's /readyz every ``interval_s``; keeps (time, app, state)
    where state is ready, degraded, not ready or down (no answer)."""

    def __init__(self, apps: dict[str, str], interval_s: float = 0.2):
        super().__init__(name="health-monitor", daemon=True)
        self.apps, self.interval_s = apps, interval_s
        self.seen: list[tuple[float, str, str]] = []
        self._halt = threading.Event()

    @staticmethod
    def state(url: str) -> str:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=3) as response:
                return str(json.load(response)["status"])
        except urllib.error.HTTPError as error:
            try:
                return str(json.load(error)["status"])
            except ValueError:
                return f"http {error.code}"
        except (OSError, ValueError):
            return "down"

    def run(self) -> None:
        while not self._halt.is_set():
            for app, url in self.apps.items():
                self.seen.append((time.monotonic(), app, self.state(url)))
            self._halt.wait(self.interval_s)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    @staticmethod
    def _database_fault_at(moment: float, windows: list[Window]) -> bool:
        """Was the database restarting, or were backends being killed, at ``moment``
        (or just before: GRACE_S)?"""
        return any(w.kind in DATABASE_FAULTS | {"kill backends"}
                   and w.start <= moment <= w.end + GRACE_S for w in windows)

    def report(self, windows: list[Window], stats: dict[str, object]) -> list[str]:
        """Per fault: what each app's /readyz said during it, and how long after
        it (and any fault overlapping its end) ended each app said "ready"
        again. Problems: a database or Redis outage a user app's /readyz did
        not report, or an app not ready again within RECOVERY_LIMIT_S."""
        problems = []
        expected = {"postgres restart": {"not ready"}, "redis restart": {"degraded"}}
        for number, window in enumerate(windows, 1):
            # Faults overlap: recovery counts from the end of the last fault
            # still going on when this one ended.
            end = window.end
            while any(w.start <= end < w.end for w in windows):
                end = max(w.end for w in windows if w.start <= end < w.end)
            for app in self.apps:
                during = {s for t, a, s in self.seen
                          if a == app and window.start <= t <= window.end + 0.3}
                before = [s for t, a, s in self.seen if a == app and t <= end]
                after = [t for t, a, s in self.seen if a == app and t > end and s == "ready"]
                if before and before[-1] == "ready":  # ready when the fault ended
                    recovered: float | None = 0.0
                else:
                    recovered = round(after[0] - end, 2) if after else None
                label = f"fault {number} {window.kind} [{app}]"
                stats[label] = (f"{window.end - window.start:.1f} s, readyz said "
                                f"{'/'.join(sorted(during)) or '-'}, ready again after "
                                f"{recovered if recovered is not None else 'never'} s "
                                f"{window.detail}").rstrip()
                wanted = expected.get(window.kind)
                if window.kind == "redis restart":
                    # While the database is out too (another fault overlapping
                    # this one), "not ready" rightly masks "degraded": judge
                    # only the answers given while the database was fine.
                    during = {s for t, a, s in self.seen if a == app
                              and window.start <= t <= window.end + 0.3
                              and not self._database_fault_at(t, windows)}
                    if not during:
                        wanted = None
                if wanted and app.startswith("user") and not during & wanted:
                    problems.append(f"{label}: /readyz never said {'/'.join(wanted)}")
                if recovered is None or recovered > RECOVERY_LIMIT_S:
                    problems.append(f"{label}: not ready {RECOVERY_LIMIT_S} s after the fault")
        return problems
