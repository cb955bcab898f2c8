"""ledgerlib vs django-hordak: the same transfers on the same PostgreSQL, in one run.

Django and hordak are installed only for this benchmark, in a virtualenv of
their own (the project never depends on them):

    python3 -m venv /tmp/hordak-venv
    /tmp/hordak-venv/bin/pip install django-hordak 'psycopg[binary]' sqlalchemy
    /tmp/hordak-venv/bin/python bench/hordak_bench.py --transfers 2000

Each transfer is its own committed transaction between two of 100 liability
accounts funded from an asset account. The last line is machine-readable:
``ledgerlib_vs_hordak=<ratio of transfers per second>``.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCOUNTS = 100
PG = dict(NAME="test", USER="postgres", HOST="127.0.0.1", PORT=5432)


def reset_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(dbname=PG["NAME"], user=PG["USER"], host=PG["HOST"],
                         port=PG["PORT"], autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")


def plan(transfers: int, seed: int = 1) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    steps = []
    for _ in range(transfers):
        a, b = rng.sample(range(ACCOUNTS), 2)
        steps.append((a, b, rng.randint(1, 1000)))
    return steps


def run_hordak(steps) -> float:
    import django
    from django.conf import settings

    reset_schema("hordak_bench")
    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", **PG,
                               "OPTIONS": {"options": "-c search_path=hordak_bench"}}},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "mptt", "djmoney",
                        "hordak"],
        USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        DEFAULT_CURRENCY="INR", CURRENCIES=["INR"], HORDAK_DECIMAL_PLACES=2,
    )
    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from djmoney.money import Money
    from hordak.models import Account

    call_command("migrate", verbosity=0)
    bank = Account.objects.create(name="bank", type=Account.TYPES.asset, currencies=["INR"])
    wallets = [Account.objects.create(name=f"w{i}", type=Account.TYPES.liability,
                                      currencies=["INR"]) for i in range(ACCOUNTS)]
    for wallet in wallets:
        bank.transfer_to(wallet, Money(Decimal("100000.00"), "INR"))
    def plain(a, b, paise):
        with transaction.atomic():
            wallets[a].transfer_to(wallets[b], Money(Decimal(paise) / 100, "INR"))

    def wallet_safe(a, b, paise):
        # What a wallet must do with hordak: lock both accounts in one order and
        # refuse to overdraw (ledgerlib does this itself on every transfer).
        amount = Money(Decimal(paise) / 100, "INR")
        with transaction.atomic():
            locked = {acc.pk: acc for acc in Account.objects.select_for_update()
                      .filter(pk__in=[wallets[a].pk, wallets[b].pk]).order_by("pk")}
            source = locked[wallets[a].pk]
            # With transfer_to from the bank, money a wallet holds shows as a negative
            # balance in hordak (checked: funding 100 gives -100, paying 10 on gives -90).
            if -source.get_simple_balance().monies()[0] < amount:
                skipped.append((a, b, paise))
                return
            source.transfer_to(locked[wallets[b].pk], amount)

    skipped: list = []
    rates = {}
    for name, transfer in (("plain", plain), ("wallet-safe", wallet_safe)):
        started = time.perf_counter()
        for a, b, paise in steps:
            transfer(a, b, paise)
        rates[name] = len(steps) / (time.perf_counter() - started)
    assert not skipped, f"{len(skipped)} transfers refused for funds: the comparison is off"
    return rates


def run_ledgerlib(steps) -> float:
    from sqlalchemy.orm import Session

    import ledgerlib

    reset_schema("ledger_vs_hordak")
    engine = ledgerlib.create_engine(
        f"postgresql+psycopg://{PG['USER']}@{PG['HOST']}:{PG['PORT']}/{PG['NAME']}",
        connect_args={"options": "-csearch_path=ledger_vs_hordak"}, pool_size=1)
    ledgerlib.create_all(engine)
    with Session(engine) as session, session.begin():
        ledger = ledgerlib.Ledger(session)
        ledger.open_account("bank", "asset", allow_negative=True)
        for i in range(ACCOUNTS):
            ledger.open_account(f"w{i}", "liability")
            ledger.transfer("bank", f"w{i}", 100_000_00)
    started = time.perf_counter()
    for n, (a, b, paise) in enumerate(steps):
        with Session(engine) as session, session.begin():
            ledgerlib.Ledger(session).transfer(f"w{a}", f"w{b}", paise,
                                               idempotency_key=f"bench:{n}")
    elapsed = time.perf_counter() - started
    with Session(engine) as session:
        assert ledgerlib.verify(session).ok
    engine.dispose()
    return len(steps) / elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument("--pg-db", default=PG["NAME"],
                        help="PostgreSQL database to use (schemas are dropped and re-created)")
    args = parser.parse_args(argv)
    PG["NAME"] = args.pg_db
    steps = plan(args.transfers)
    ours = run_ledgerlib(steps)
    theirs = run_hordak(steps)
    print(f"ledgerlib:            {ours:.0f} transfers/s (idempotency key, funds check, row locks)")
    print(f"hordak, plain:        {theirs['plain']:.0f} transfers/s (transfer_to in atomic(); "
          "no funds check, no locks)")
    print(f"hordak, wallet-safe:  {theirs['wallet-safe']:.0f} transfers/s (+ select_for_update "
          "of both accounts and a balance() check)")
    print(f"ledgerlib / hordak plain = {ours / theirs['plain']:.2f}")
    print(f"ledgerlib_vs_hordak={ours / theirs['wallet-safe']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
