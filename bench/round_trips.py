"""The database round trips of each money operation, against its budget.

    python bench/round_trips.py                      # SQLite
    python bench/round_trips.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/wallet_rt

Runs tests/apps/test_round_trips.py (each operation through its real app: the
API, the user app, the webhook app; the statements counted by
wallet.core.round_trips, BEGIN/COMMIT/ROLLBACK not counted) and prints the
table: operation, statements, budget (wallet.core.budgets), pool checkouts
(each one pre-ping round trip more, not a statement). With ``--db-url`` the
tests run on that PostgreSQL database (its schema ``webapp_tests`` is
dropped and made again). ``--list`` prints each operation's statements.
Ends with one machine-readable line per operation:
``round_trips op=<operation> dialect=<d> statements=<n> budget=<m> checkouts=<c>``.
Exit status 1 if an operation is over its budget.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(db_url: str | None) -> tuple[list[dict[str, object]], int]:
    """Each operation's figures (tests/apps/test_round_trips.py's lines), and pytest's status."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "round_trips.jsonl"
        env = {**os.environ, "WALLET_ROUND_TRIPS_OUT": str(out),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                           os.environ.get("PYTHONPATH")]))}
        env.pop("WALLET_TEST_DATABASE_URL", None)
        if db_url:
            env["WALLET_TEST_DATABASE_URL"] = db_url
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "tests/apps/test_round_trips.py"], cwd=ROOT, env=env, capture_output=True, text=True)
        lines = out.read_text().splitlines() if out.exists() else []
    if not lines:
        sys.stderr.write(done.stdout + done.stderr)
    return [json.loads(line) for line in lines], done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-url", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--list", action="store_true", help="print each operation's statements")
    args = parser.parse_args()
    rows, status = measure(args.db_url)
    print(f"{'operation':<20} {'dialect':<11} {'statements':>10} {'budget':>7} {'checkouts':>10}")
    for row in rows:
        over = "  OVER BUDGET" if int(row["statements"]) > int(row["budget"]) else ""
        print(f"{row['operation']:<20} {row['dialect']:<11} {row['statements']:>10} "
              f"{row['budget']:>7} {row['checkouts']:>10}{over}")
        if args.list:
            for number, text in enumerate(row["listing"], 1):
                print(f"    {number:3}. {' '.join(str(text).split())[:160]}")
    for row in rows:
        print(f"round_trips op={row['operation']} dialect={row['dialect']} "
              f"statements={row['statements']} budget={row['budget']} "
              f"checkouts={row['checkouts']}")
    return 0 if rows and status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
