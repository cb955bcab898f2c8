"""Migrate the database to the latest schema and, on an empty one, seed demo data.

Usage: wallet-init-db development.ini [--no-demo]
"""
from __future__ import annotations

import argparse
import os
import sys

from alembic import command
from alembic.config import Config
from pyramid.paster import bootstrap, setup_logging
from sqlalchemy import select
from sqlalchemy.engine import make_url

from ..accounts import AccountService
from ..banks import load_banks
from ..deposits import DepositService
from ..models import User
from ..settings import load_settings
from ..wallet import WalletService

DEMO_PASSWORD = "demo-pass-123"
DEMO_USERS = [
    # phone, name, opening deposit in paise
    ("+919876543210", "Asha Verma", 5_000_00),
    ("+919812345678", "Ravi Kumar", 2_500_00),
]


def migrate(config_uri: str) -> None:
    settings = load_settings(config_uri)
    url = make_url(settings["sqlalchemy.url"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
    command.upgrade(Config(config_uri), "head")


def seed_demo(dbsession, bcrypt_rounds: int, banks: dict) -> list[str]:
    """Two users with money and one transfer between them. Returns log-in lines."""
    if dbsession.scalar(select(User.id).limit(1)) is not None:
        return []
    accounts = AccountService(dbsession, bcrypt_rounds=bcrypt_rounds)
    wallet = WalletService(dbsession)
    deposits = DepositService(dbsession, banks)
    bank_code = next(iter(banks))
    users = []
    for phone, name, deposit_paise in DEMO_USERS:
        user = accounts.signup(phone, name, DEMO_PASSWORD)
        deposits.record_completed(user, bank_code, deposit_paise, f"demo-deposit-{user.id:06d}")
        users.append(user)
    wallet.send_money(users[0], users[1].phone, 350_00, "demo-transfer-0001",
                      note="Dinner at Saravana Bhavan")
    return [f"  {user.phone}  password: {DEMO_PASSWORD}  ({user.name})" for user in users]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config_uri", help="ini file, e.g. development.ini")
    parser.add_argument("--no-demo", action="store_true", help="do not seed demo users")
    args = parser.parse_args(argv)
    setup_logging(args.config_uri)
    migrate(args.config_uri)
    if args.no_demo:
        return 0
    env = bootstrap(args.config_uri + "#user")
    try:
        with env["request"].tm:
            rounds = int(env["registry"].settings.get("wallet.bcrypt_rounds", 12))
            logins = seed_demo(env["request"].dbsession, rounds,
                               load_banks(env["registry"].settings))
    finally:
        env["closer"]()
    if logins:
        print("Demo users (log in with these):", *logins, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
