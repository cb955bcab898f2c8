"""Mutation testing of the money rules with mutmut 3 (not part of CI: hours).

    PYTHONPATH=$PWD python -m bench.mutation [GROUP ...] [--jobs N] [--list]
    PYTHONPATH=$PWD python -m bench.mutation --report   # figures of the last runs

Each GROUP mutates a few modules and runs only the test files aimed at them
(:data:`GROUPS`), in a copy of the tree of its own under
``build/mutation/GROUP`` (mutmut 3 writes its mutated copy to ``mutants/``
under the directory it runs in, next to the configuration it reads from
``pyproject.toml``; a copy keeps both out of the work tree). mutmut first runs
the group's tests once to learn which test reaches which function, then runs
for each mutant only the tests that reach its function, stopping at the
first failure. Without GROUP every group runs, one after the other.

Needs ``pip install mutmut==3.8.1`` (not a project dependency). The tests run
on SQLite (the PostgreSQL-only tests skip). Results are kept between runs in
each group's directory: a re-run only tries mutants whose function changed.
The survivors of the last full run are argued in ``docs/mutation-testing.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutation"

LEDGER_TESTS = ["tests/ledgerlib/test_ledger.py", "tests/ledgerlib/test_ledger_holds.py",
                "tests/ledgerlib/test_ledger_batches.py", "tests/ledgerlib/test_ledger_asof.py",
                "tests/ledgerlib/test_ledger_properties.py", "tests/domain/test_ledger_kit.py",
                "tests/domain/test_money_rules.py"]

#: group -> (modules to mutate, test files run against them, mutant-name
#: globs to try, or () for every mutant of the modules). The first four are
#: the money rules that matter most and were measured (docs/mutation-testing.md);
#: the rest complete the money modules when a few more hours are available.
GROUPS: dict[str, tuple[list[str], list[str], tuple[str, ...]]] = {
    "limits-freeze": (["wallet/money/limits.py", "wallet/money/freeze.py"],
                      ["tests/domain/test_money_rules.py", "tests/apps/test_stepup.py",
                       "tests/apps/test_freeze.py"], ()),
    "chain-expiry": (["ledgerlib/chain.py", "ledgerlib/_expiry.py"],
                     ["tests/domain/test_money_rules.py", "tests/ledgerlib/test_ledger.py",
                      "tests/ledgerlib/test_ledger_holds.py"], ()),
    "bulk-payments": (["wallet/money/bulk_payments.py"],
                      ["tests/domain/test_money_rules.py",
                       "tests/domain/test_wallet_ledger_batches.py"], ()),
    "pin-checks": (["wallet/identity/pins.py"],
                   ["tests/domain/test_money_rules.py", "tests/apps/test_stepup.py"],
                   ("wallet.identity.pins.xǁPinsǁapprove*",
                    "wallet.identity.pins.xǁPinsǁ_reserve_try*",
                    "wallet.identity.pins.xǁPinsǁ_clear*",
                    "wallet.identity.pins.xǁPinsǁlocked_until*")),
    # -- not measured yet (hours each on this 2-core machine)
    "ledger-core": (["ledgerlib/_core.py", "ledgerlib/_posting.py", "ledgerlib/money.py",
                     "ledgerlib/validation.py"], LEDGER_TESTS, ()),
    "ledger-holds": (["ledgerlib/_holds.py"], LEDGER_TESTS, ()),
    "ledger-batch": (["ledgerlib/_batch.py"], LEDGER_TESTS, ()),
    "transfers": (["wallet/money/transfers.py"],
                  ["tests/domain/test_money_rules.py", "tests/apps/test_stepup.py",
                   "tests/apps/test_freeze.py",
                   "tests/domain/test_wallet_ledger_batches.py"], ()),
    "deposits": (["wallet/banking/deposits.py"],
                 ["tests/domain/test_money_rules.py", "tests/apps/test_deposit_flow.py",
                  "tests/apps/test_deposit_sweeper.py", "tests/apps/test_webhooks.py"], ()),
    "withdrawals-payouts": (
        ["wallet/banking/withdrawals.py", "wallet/banking/payouts.py",
         "wallet/banking/settlement.py"],
        ["tests/apps/test_withdrawals.py", "tests/system/test_payout_pipeline.py",
         "tests/apps/test_settlement_shards.py", "tests/apps/test_bank_delays.py"], ()),
    "requests-refunds": (
        ["wallet/merchants/payment_requests.py", "wallet/merchants/refunds.py"],
        ["tests/domain/test_payment_requests.py", "tests/apps/test_refunds_app.py",
         "tests/apps/test_checkout.py"], ()),
    "pins-rest": (["wallet/identity/pins.py"],
                  ["tests/domain/test_money_rules.py", "tests/apps/test_stepup.py"], ()),
    "ledger-verify": (["ledgerlib/verification.py", "ledgerlib/asof.py"], LEDGER_TESTS, ()),
}
MEASURED = ("limits-freeze", "chain-expiry", "bulk-payments", "pin-checks")


#: Everything the tests import or read besides the mutated packages.
ALSO_COPY = ["admin_app", "api_app", "bench", "examples", "fake_bank", "huey_tasks",
             "webapp", "webcommon", "webhook_app", "wallet_cli", "wallet_metrics",
             "development.ini", "production.ini", "README.md", "docs"]


#: mutmut's command line, less its mutation of prose: a string literal with a
#: space in it is a message for people ("Choose one of the listed banks."),
#: which the money rules never compare; mutating it only makes survivors that
#: say nothing about the rules. Strings without spaces ("pending", "expired",
#: column and setting names) are still mutated.
MUTMUT = """
import sys
import libcst
from mutmut.mutation import mutators

def no_prose(node):
    value = node.evaluated_value if isinstance(node, libcst.SimpleString) else None
    if isinstance(value, str) and " " in value:
        return iter(())
    return mutators.operator_string(node)

ops = mutators.mutation_operators
ops[:] = [(kind, no_prose if op is mutators.operator_string else op) for kind, op in ops]
from mutmut.__main__ import cli
sys.argv[0] = "mutmut"
cli()
"""


def prepare(group: str, jobs: int) -> Path:
    """The group's copy of the tree, with its mutmut configuration."""
    modules, tests, _ = GROUPS[group]
    tests = [name for name in tests if (ROOT / name).exists()]
    where = WORK / group
    where.mkdir(parents=True, exist_ok=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    for name in files:
        source, target = ROOT / name, where / name
        if not source.is_file():
            continue
        if target.exists() and target.read_bytes() == source.read_bytes():
            continue  # unchanged: keep its mtime, mutmut re-tries only changed code
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    config = ROOT.joinpath("pyproject.toml").read_text() + "\n" + "\n".join([
        "[tool.mutmut]",
        'source_paths = ["ledgerlib", "wallet"]',
        f"only_mutate = {json.dumps(modules)}",
        f"also_copy = {json.dumps(ALSO_COPY)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        # (mypy over ledgerlib fails on mutmut's rewritten copy: not a verdict)
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "--deselect", '
        '"tests/ledgerlib/test_ledger.py::test_ledgerlib_type_checks_strictly"]',
        "use_git_change_detection = false",
        "",
    ])
    where.joinpath("pyproject.toml").write_text(config)
    return where


def run(group: str, jobs: int) -> dict[str, int]:
    where = prepare(group, jobs)
    env = {k: v for k, v in os.environ.items()
           if k not in ("WALLET_TEST_DATABASE_URL", "WALLET_TEST_REDIS_URL", "PYTHONPATH")}
    started = time.monotonic()
    print(f"== {group}: mutmut run in {where}", flush=True)
    subprocess.run([sys.executable, "-c", MUTMUT, "run", "--max-children", str(jobs),
                    *GROUPS[group][2]], cwd=where, env=env, check=False)
    figures = results(group)
    figures["seconds"] = round(time.monotonic() - started)
    print(f"== {group}: {figures}", flush=True)
    return figures


STATUS = re.compile(r"^\s*(\S+): (\S.*)$")


def results(group: str) -> dict[str, int]:
    """Counts by mutmut's verdict (killed, survived, no tests, timeout...)."""
    where = WORK / group
    out = subprocess.run(["mutmut", "results", "--all", "true"], cwd=where,
                         capture_output=True, text=True, check=False).stdout
    counts: dict[str, int] = {}
    for line in out.splitlines():
        found = STATUS.match(line)
        if found:
            counts[found.group(2)] = counts.get(found.group(2), 0) + 1
    return counts


def survivors(group: str) -> list[str]:
    where = WORK / group
    out = subprocess.run(["mutmut", "results"], cwd=where, capture_output=True, text=True,
                         check=False).stdout
    return [m.group(1) for line in out.splitlines() if (m := STATUS.match(line))
            and m.group(2) != "killed"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("groups", nargs="*",
                        help=f"of {', '.join(GROUPS)}; default: {', '.join(MEASURED)}")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tried at once")
    parser.add_argument("--report", action="store_true", help="only print the figures")
    parser.add_argument("--survivors", action="store_true", help="list the survivors too")
    args = parser.parse_args(argv)
    unknown = set(args.groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups {sorted(unknown)}")
    for group in args.groups or list(MEASURED):
        if args.report:
            print(group, results(group) if (WORK / group).exists() else "not run")
        else:
            run(group, args.jobs)
        if args.survivors and (WORK / group).exists():
            for name in survivors(group):
                print("   ", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
