"""Migrate the database to the latest schema and, on an empty one, seed demo data.

Usage: wallet-init-db development.ini [--no-demo]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
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
DEMO_MERCHANT = {"handle": "chai-point", "name": "Chai Point", "email": "chai@example.com"}
DEMO_HISTORY_DAYS = 150
DEMO_USERS = [
    # phone, name, opening deposit in paise
    ("+919876543210", "Asha Verma", 5_000_00),
    ("+919812345678", "Ravi Kumar", 2_500_00),
]


def upgrade_url(url: str) -> None:
    """Migrate the database at ``url`` to the latest schema (tests, benchmarks)."""
    config = Config()
    config.set_main_option("script_location", "webapp:alembic")
    config.attributes["settings"] = {"sqlalchemy.url": url}
    command.upgrade(config, "head")


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
    merchant = accounts.signup_merchant(DEMO_MERCHANT["handle"], DEMO_MERCHANT["name"],
                                        DEMO_MERCHANT["email"], DEMO_PASSWORD)
    seed_shop_history(dbsession, accounts, banks, merchant)
    return [f"  {user.phone}  password: {DEMO_PASSWORD}  ({user.name})" for user in users] + [
        f"  merchant app: {merchant.email}  password: {DEMO_PASSWORD}  ({merchant.name})"]


def seed_shop_history(dbsession, accounts, banks, merchant) -> None:
    """A few months of a tea shop's takings, so its charts show something real:
    regulars paying ₹20-₹450 through the day, busier on weekends (seeded, repeatable)."""
    rng = random.Random(42)
    now = dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(days=DEMO_HISTORY_DAYS)
    regulars = []
    for i in range(6):
        user = accounts.signup(f"+9190000{i:05d}", f"Regular {i + 1}", DEMO_PASSWORD)
        DepositService(dbsession, banks, clock=lambda: start).record_completed(
            user, next(iter(banks)), 1_00_000_00, f"demo-regular-deposit-{i:06d}")
        regulars.append(user)
    notes = ["masala chai", "2 chai + samosa", "filter coffee", "ginger tea", "", "", "snacks"]
    for day in range(DEMO_HISTORY_DAYS, -1, -1):
        date = now - dt.timedelta(days=day)
        count = rng.randint(3, 8) + (4 if date.weekday() >= 5 else 0)
        moments = sorted(date.replace(hour=rng.randint(1, 16), minute=rng.randint(0, 59))
                         for _ in range(count))
        for n, moment in enumerate(moments):  # in time order, as real payments arrive
            if moment > now:
                continue
            WalletService(dbsession, clock=lambda moment=moment: moment).pay_merchant(
                rng.choice(regulars), merchant.handle, rng.randint(20, 450) * 100,
                f"demo-pay-{day:04d}-{n:04d}-xyz", rng.choice(notes))


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
