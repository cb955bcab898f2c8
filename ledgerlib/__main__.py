"""Command line: ``python -m ledgerlib verify --url URL`` (exit 1 if broken)."""
from __future__ import annotations

import argparse
import sys

from .db import create_engine
from .ledger import Ledger
from .money import format_paise
from .schema import create_all
from .verification import snapshot_session, verify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ledgerlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("verify", "re-derive every balance and check every entry"),
        ("init", "create the ledger tables (without alembic)"),
        ("balance", "print an account's balance"),
    ]:
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--url", required=True, help="SQLAlchemy database URL")
        if name == "balance":
            cmd.add_argument("code")
    args = parser.parse_args(argv)

    engine = create_engine(args.url)
    try:
        if args.command == "init":
            create_all(engine)
            print("ledger tables created")
            return 0
        with snapshot_session(engine) as session:
            if args.command == "balance":
                balance = Ledger(session).balance(args.code)
                print(
                    f"{args.code}: posted {format_paise(balance.posted_paise, balance.currency)}"
                    f", held {format_paise(balance.held_paise, balance.currency)}"
                    f", available {format_paise(balance.available_paise, balance.currency)}"
                )
                return 0
            report = verify(session)
            print(report.summary())
            return 0 if report.ok else 1
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
