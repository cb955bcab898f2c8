"""Migrate the database to the latest schema and, on an empty one, seed demo data.

Usage: wallet-init-db development.ini [--no-demo]
"""
from __future__ import annotations

import argparse
import logging.config
import sys

from wallet.db import WalletSession, get_engine
from wallet.migrations import migrate
from wallet.seed import DEMO_MERCHANT, DEMO_PASSWORD, DEMO_USERS, seed_demo
from wallet.services import Services
from wallet.settings import WalletSettings, load_settings

__all__ = ["DEMO_MERCHANT", "DEMO_PASSWORD", "DEMO_USERS", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config_uri", help="ini file, e.g. development.ini")
    parser.add_argument("--no-demo", action="store_true", help="do not seed demo users")
    args = parser.parse_args(argv)
    logging.config.fileConfig(args.config_uri, disable_existing_loggers=False)
    migrate(args.config_uri)
    if args.no_demo:
        return 0
    raw = load_settings(args.config_uri)
    settings = WalletSettings.from_dict(raw)
    if settings.pan_keys is None:
        raise SystemExit("The demo users have full KYC: set wallet.pan_keys, wallet.pan_key_id "
                         "and wallet.pan_hmac_key (development.ini has development keys), or "
                         "pass --no-demo")
    engine = get_engine(raw)
    try:
        with WalletSession(engine, expire_on_commit=False) as session, session.begin():
            logins = seed_demo(Services(session, settings))
    finally:
        engine.dispose()
    if logins:
        print("Demo users (log in with these):", *logins, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
