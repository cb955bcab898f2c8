"""Run the whole wallet locally: wallet-dev [development.ini]

Migrates the SQLite database (seeding demo users on the first run), then starts
the user app, merchant app, webhook app, API app, operators' console, fake bank,
the counter's announcer and a Huey worker as separate processes
with honcho (prefixed logs; Ctrl-C stops them all).
"""
from __future__ import annotations

import configparser
import os
import shlex
import sys

from honcho.manager import Manager

from wallet.seed import DEMO_MERCHANT, DEMO_PASSWORD, DEMO_PIN, DEMO_SHOP_PIN, DEMO_USERS

from .initialize_db import main as initialize_db

APPS = ("user", "merchant", "webhook", "api", "admin", "fake_bank", "announcer")


def listen_address(config_uri: str, name: str) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config_uri)
    return parser.get(f"server:{name}", "listen", fallback="?")


def worker_max_delay_s(config_uri: str) -> float:
    """``huey.max_delay_s`` of the ini's [DEFAULT] (huey's own default: 10)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config_uri)
    try:
        value = float(parser.get("DEFAULT", "huey.max_delay_s", fallback="10"))
    except ValueError:
        value = 10.0
    return value if value > 0 else 10.0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    config_uri = os.path.abspath(args[0] if args else "development.ini")
    if initialize_db([config_uri]) != 0:
        return 1
    python = shlex.quote(sys.executable)
    manager = Manager()
    for name in APPS:
        manager.add_process(
            name, f"{python} -m pyramid.scripts.pserve {shlex.quote(config_uri)} "
                  f"-n {name} --server-name {name}")
    # Huey's consumer backs off to ``-m`` seconds between polls of an idle
    # queue (10 by default): in development a settlement should not sit
    # "queued" for seconds, so poll at most this far apart.
    max_delay_s = worker_max_delay_s(config_uri)
    manager.add_process(
        "worker", f"{python} -m huey.bin.huey_consumer huey_tasks.consumer.huey --workers 2 "
                  f"--delay 0.1 --max-delay {max_delay_s}",
        env={**os.environ, "WALLET_INI": config_uri})
    print("Wallet is starting:")
    for name in APPS:
        print(f"  {name:<10} http://{listen_address(config_uri, name)}/")
    print("  worker     huey consumer (2 workers)")
    print("Demo logins (user app):")
    for phone, name, _ in DEMO_USERS:
        print(f"  {phone}  password: {DEMO_PASSWORD}  PIN: {DEMO_PIN}  ({name})")
    print("Demo login (merchant app):")
    print(f"  {DEMO_MERCHANT['email']}  password: {DEMO_PASSWORD}  shop PIN: {DEMO_SHOP_PIN}  "
          f"({DEMO_MERCHANT['name']})")
    print("Operators' console: make an operator first (prints its TOTP secret once):")
    print(f"  wallet-admin {config_uri} operator add NAME --role operator")
    print("Ctrl-C stops everything.", flush=True)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
