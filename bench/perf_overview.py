"""The whole performance picture in one run: each benchmark as its own
process, on PostgreSQL, with the settings production ships (production's PIN
hashing in the load benchmarks; see each script's docstring), then every
machine-readable line they printed, gathered at the end.

    python bench/perf_overview.py [--db-url URL] [--quick] [--pgledger PATH]

Parts, in order: round trips per money operation (SQLite and PostgreSQL),
the CPU of a PIN check, the ledger against its one-statement floors (and
pgledger with ``--pgledger``), API and form P2P, 100 payers into one shop
(1 and 8 receiving shards), the payout pipeline. ``--quick`` shortens every
part (a smoke run: its figures are not for comparing). A part that fails is
reported and the others still run; the last line is ``perf_overview: ok`` or
``perf_overview: FAILED <parts>``."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: A machine-readable line: ``name=value`` pairs, or ``<part> name=value ...``.
MACHINE = re.compile(r"^(?:[a-z0-9_]+ )?[a-z0-9_]+=\S+(?: [a-z0-9_]+=\S+)*$")


def parts(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    quick = args.quick
    seconds = "5" if quick else "20"
    ledger = ["bench/ledger_bench.py", "--db", "postgres", "--pg-url", args.db_url,
              "--transfers", "300" if quick else "2000", "--repeat", "1" if quick else "3",
              "--batch-transfers", "2000" if quick else "20000",
              "--asof-postings", "10000" if quick else "1000000"]
    if args.pgledger:
        ledger += ["--pgledger", str(args.pgledger)]
    load = ["bench/load_bench.py", "--db-url", args.db_url]
    return [
        ("round trips (SQLite)", ["bench/round_trips.py"]),
        ("round trips (PostgreSQL)", ["bench/round_trips.py", "--db-url", args.db_url]),
        ("PIN check CPU", ["-m", "bench.pin_cost"]),
        ("ledger", ledger),
        ("API and form P2P", [*load, "api-p2p", "--seconds", seconds]),
        ("hot shop, 1 shard", [*load, "hot-shop", "--shards", "1",
                               "--rounds", "1" if quick else "3"]),
        ("hot shop, 8 shards", [*load, "hot-shop", "--shards", "8",
                                "--rounds", "1" if quick else "3"]),
        ("payout pipeline", [*load, "pipeline", "--withdrawals", "100" if quick else "1000"]),
    ]


def run_part(name: str, argv: list[str]) -> tuple[bool, list[str]]:
    print(f"\n===== {name}: python {' '.join(argv)}", flush=True)
    started = time.monotonic()
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.stdout.write(done.stderr[-3000:])
    print(f"===== {name}: exit {done.returncode} after {time.monotonic() - started:.0f} s",
          flush=True)
    lines = [line.strip() for line in done.stdout.splitlines() if MACHINE.match(line.strip())]
    return done.returncode == 0, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-url", default=PG)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pgledger", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    failed: list[str] = []
    gathered: list[str] = []
    for name, part_argv in parts(args):
        ok, lines = run_part(name, part_argv)
        gathered += lines
        if not ok:
            failed.append(name)
    print("\n===== machine-readable lines of every part")
    for line in gathered:
        print(line)
    print("perf_overview: ok" if not failed else f"perf_overview: FAILED {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
