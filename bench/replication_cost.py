"""What synchronous replication costs (root; Debian's patroni, etcd-server):

    python bench/replication_cost.py [--transfers 3000] [--conns 1 8]

Three set-ups on this machine, one after the other, in one run:

* ``single``: one PostgreSQL, no standby;
* ``async``: the three-node Patroni cluster (bench/cluster.py), asynchronous
  streaming replication;
* ``sync``: the same cluster with ``synchronous_mode_strict`` (a COMMIT waits
  until a standby has flushed it): what the wallet runs.

Every set-up has ``fsync`` on (a COMMIT waits for the disk, as in
production), and is measured directly on the primary's port. Each transfer
is its own committed transaction between two of 100 funded wallets
(``ledgerlib.Ledger.transfer``: the same statement as a person's transfer),
over 1 and 8 connections; figures are transfers/s and the per-transfer p50
and p99 latency. The standbys share this machine's disk and cores: the cost
of the network between real hosts (a round trip per COMMIT) comes on top.

The last lines are machine-readable, one per set-up and connection count:
``replication_cost setup=<name> conns=<n> tps=<float> p50_ms=<float> p99_ms=<float>``,
then ``replication_cost sync_vs_single_tps_ratio=<float>`` (8 connections).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

import ledgerlib  # noqa: E402
from bench.cluster import DbHost, PatroniCluster, Settings  # noqa: E402
from bench.infra import LocalPostgres  # noqa: E402

ACCOUNTS = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def measure(url: str, transfers: int, conns: int, seed: int) -> tuple[float, float, float]:
    """(transfers/s, p50 ms, p99 ms) of ``transfers`` over ``conns`` threads."""
    engine = ledgerlib.create_engine(url, pool_size=conns, max_overflow=0,
                                     prepared_statements=True)
    run = f"{seed}-{conns}-{time.monotonic_ns()}"
    with Session(engine) as session, session.begin():
        ledger = ledgerlib.Ledger(session)
        ledger.open_account(f"bank:{run}", "asset", allow_negative=True)
        for i in range(ACCOUNTS):
            ledger.open_account(f"w:{run}:{i}", "liability")
            ledger.transfer(f"bank:{run}", f"w:{run}:{i}", 10**9, idempotency_key=f"f:{run}:{i}")
    rng = random.Random(seed)
    plan = [(*rng.sample(range(ACCOUNTS), 2), rng.randint(1, 1000)) for _ in range(transfers)]
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(part: list[tuple[int, int, int]], offset: int) -> None:
        mine = []
        for n, (src, dst, amount) in enumerate(part):
            started = time.perf_counter()
            for _ in range(5):  # two transfers crossing: a deadlock, re-run
                try:
                    with Session(engine) as session, session.begin():
                        ledgerlib.Ledger(session).transfer(
                            f"w:{run}:{src}", f"w:{run}:{dst}", amount,
                            idempotency_key=f"t:{run}:{offset + n}")
                    break
                except ledgerlib.RETRYABLE_ERRORS:
                    continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    size = len(plan) // conns
    threads = [threading.Thread(target=worker, args=(plan[i * size:(i + 1) * size], i * size))
               for i in range(conns)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    engine.dispose()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, statistics.median(latencies) * 1e3, p99 * 1e3


def single(workdir: Path) -> tuple[LocalPostgres, str]:
    (workdir / "single").mkdir()
    postgres = LocalPostgres(workdir / "single", free_port())
    postgres.init()
    options = (postgres.data / "chaos.opts").read_text().replace("fsync=off", "fsync=on")
    (postgres.data / "chaos.opts").write_text(options)
    postgres.start()
    postgres.create_database("bench")
    return postgres, postgres.url("bench")


def cluster(workdir: Path, synchronous: bool) -> tuple[PatroniCluster, str]:
    hosts = [DbHost(f"db{i}", "127.0.0.1", free_port(), free_port(), free_port(), free_port())
             for i in (1, 2, 3)]
    name = "sync" if synchronous else "async"
    patroni = PatroniCluster(workdir / name, hosts, Settings(synchronous=synchronous,
                                                            fsync=True))
    patroni.start()
    leader = patroni.host(str(patroni.leader()))
    with patroni.connect(leader.name) as conn:
        conn.execute("CREATE DATABASE bench")
    return patroni, f"postgresql+psycopg://postgres@127.0.0.1:{leader.pg_port}/bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", type=int, default=3000)
    parser.add_argument("--conns", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or shutil.which("patroni") is None:
        print("replication_cost error=needs root and Debian's patroni and etcd-server")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="replication-cost-"))
    workdir.chmod(0o755)
    results: dict[tuple[str, int], tuple[float, float, float]] = {}
    try:
        for setup in ("single", "async", "sync"):
            if setup == "single":
                server, url = single(workdir)
            else:
                server, url = cluster(workdir, synchronous=setup == "sync")
            try:
                schema = ledgerlib.create_engine(url)
                ledgerlib.create_all(schema)  # the ledger's tables, once per set-up
                schema.dispose()
                for conns in args.conns:
                    results[(setup, conns)] = measure(url, args.transfers, conns, args.seed)
                    tps, p50, p99 = results[(setup, conns)]
                    print(f"  {setup:<6} {conns} conns: {tps:8.1f} transfers/s, "
                          f"p50 {p50:6.2f} ms, p99 {p99:6.2f} ms", flush=True)
            finally:
                server.stop() if setup != "single" else server.destroy()  # type: ignore[union-attr]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for (setup, conns), (tps, p50, p99) in results.items():
        print(f"replication_cost setup={setup} conns={conns} tps={tps:.1f} "
              f"p50_ms={p50:.2f} p99_ms={p99:.2f}")
    most = max(args.conns)
    ratio = results[("sync", most)][0] / results[("single", most)][0]
    print(f"replication_cost sync_vs_single_tps_ratio={ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
