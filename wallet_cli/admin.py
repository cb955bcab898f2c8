"""Operators' tool: wallet-admin CONFIG COMMAND [options]

    verify                              ledger verification + records vs ledger cross-checks
    withdrawals [--status S]            list withdrawals (e.g. --status needs_review)
    retry ID                            put a needs_review withdrawal back in its queue
    resolve ID --paid | --not-paid      settle a needs_review withdrawal by hand (bank checked first)
    deposits --stuck [--minutes N]      deposits pending for longer than N minutes
    reconcile --bank B --date D         the bank's statement for day D vs our records (stored)
    freeze PHONE | unfreeze PHONE       stop (allow again) money leaving a user's wallet
    positions                           each bank's position: its settlement shards, summed
    reseal-pans                         after a PAN key rotation: re-encrypt every PAN under
                                        wallet.pan_key_id (then the old key can be dropped)
    operator add NAME --role R          an operator of the console (viewer or operator): prints
                                        the TOTP secret once; the password is asked for
                                        (or read from stdin with --password-stdin)

Actions (retry, resolve, reconcile, freeze, unfreeze, operator add) are written to
the audit log, with --reason (a default is used when none is given), as the OS
user or --as NAME.

Exit status: 0 when all is well, 1 when something is wrong (problems found,
action refused), 2 when the bank could not be asked. Safe to run from cron.
"""  # noqa: E501 - --help prints this verbatim (RawDescriptionHelpFormatter): kept as is
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerlib import format_paise, snapshot_session
from wallet.banking.bank_client import BankUnavailable
from wallet.banking.banks import BankConfig
from wallet.banking.models import Withdrawal
from wallet.banking.settlement import expected_positions, shard_balances
from wallet.core.codes import IST, Kind, Status
from wallet.core.errors import WalletError
from wallet.core.models import Transaction, User
from wallet.core.observe import observer_of
from wallet.core.phone import InvalidPhone, normalize_phone
from wallet.core.tasks import load_task_queue
from wallet.db import WalletSession, get_engine
from wallet.identity.errors import AccountError
from wallet.identity.kyc import reseal_pans
from wallet.identity.pan_vault import PanVault
from wallet.operations.audit import Actor, Outcome
from wallet.operations.bank_calls import verify_all
from wallet.operations.models import ReconciliationRun
from wallet.operations.operator_actions import (
    ActionResult,
    OperatorActions,
    ask_payout_status,
    bank_statements,
    payout_to_ask,
)
from wallet.operations.operators import Role
from wallet.services import Services
from wallet.settings import WalletSettings, load_settings

OK, PROBLEM, BANK_DOWN = 0, 1, 2
Banks = dict[str, BankConfig]


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])


def when(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.astimezone(IST).strftime("%Y-%m-%d %H:%M IST")


def cmd_verify(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    result = verify_all(session)
    print(result.ledger.summary())
    if result.records:
        print(f"records vs ledger: {len(result.records)} problem(s)")
        for problem in result.records:
            print(f"  - {problem}")
    else:
        print("records vs ledger: OK")
    return OK if result.ok else PROBLEM


def cmd_withdrawals(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    stmt = (select(Transaction, Withdrawal, User)
            .join(Withdrawal, Withdrawal.transaction_id == Transaction.id)
            .outerjoin(User, User.id == Transaction.payer_user_id).order_by(Transaction.id))
    if args.status:
        stmt = stmt.where(Transaction.status == args.status)
    rows = [(tx.id, tx.status, u.phone if u else f"merchant {tx.payer_merchant_id}",
             format_paise(tx.amount_paise), tx.bank_code,
             wd.masked_account, when(tx.created_at), wd.failure_reason or tx.flag_reason or "")
            for tx, wd, u in session.execute(stmt).unique()]
    print(table(["id", "status", "user", "amount", "bank", "account", "requested", "note"], rows))
    print(f"{len(rows)} withdrawal(s)")
    return OK


def actions(session: Session, args: argparse.Namespace, banks: Banks) -> OperatorActions:
    return services(session, args).operator_actions(Actor.cli(args.actor))


def services(session: Session, args: argparse.Namespace) -> Services:
    settings: WalletSettings = args.settings
    return Services(session, settings, load_task_queue(settings.task_queue, settings.raw))


def report(result: ActionResult) -> int:
    if not result.ok:
        raise WalletError(result.message)
    return OK


def cmd_retry(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    with session.begin():  # the worker hears of it once this commits
        result = actions(session, args, banks).retry_payout(args.id, args.reason)
    report(result)
    print(f"withdrawal {args.id} queued again; a worker will ask the bank before any resend")
    return OK


def cmd_resolve(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    action = "resolve_paid" if args.paid else "resolve_not_paid"
    settings: WalletSettings = args.settings
    with session.begin():
        acts = actions(session, args, banks)
        refused = acts.check(action, "withdrawal", args.id, args.reason)
        if refused is None:
            try:
                bank, reference = payout_to_ask(session, banks, args.id)
            except WalletError as exc:
                refused = acts.refuse(action, "withdrawal", args.id, args.reason, str(exc))
    report(refused or ActionResult(True, ""))
    # No transaction is held open while the bank is asked.
    try:
        record = ask_payout_status(bank, reference, settings.bank_timeout_s,
                                   observer=observer_of(session))
    except BankUnavailable as exc:
        with session.begin():
            acts.refuse(action, "withdrawal", args.id, args.reason,
                        f"could not ask the bank: {exc}", outcome=Outcome.ERROR)
        raise
    with session.begin():
        result = acts.resolve_payout(args.id, args.paid, record, args.reason)
    report(result)
    print(f"withdrawal {args.id}: {result.message}")
    return OK


def cmd_deposits(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=args.minutes)
    stmt = select(Transaction).where(Transaction.kind == Kind.DEPOSIT).order_by(Transaction.id)
    if args.stuck:
        stmt = stmt.where(Transaction.status == Status.PENDING, Transaction.created_at < cutoff)
    rows = [(tx.id, tx.status, tx.payee_user_id, format_paise(tx.amount_paise), tx.bank_code,
             when(tx.created_at), tx.flag_reason or "") for tx in session.scalars(stmt)]
    print(table(["id", "status", "user", "amount", "bank", "started", "flag"], rows))
    print(f"{len(rows)} deposit(s)")
    return PROBLEM if args.stuck and rows else OK


def cmd_reconcile(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    settings: WalletSettings = args.settings
    object_id = f"{args.bank}:{args.date.isoformat()}"
    if args.bank not in banks:
        with session.begin():
            actions(session, args, banks).refuse("reconcile", "bank_day", object_id,
                                                 args.reason, f"unknown bank {args.bank!r}")
        raise WalletError(f"unknown bank {args.bank!r}; known: {', '.join(banks)}")
    statements = bank_statements(banks[args.bank], args.date, settings.bank_timeout_s,
                                 observer=observer_of(session))
    with session.begin():
        result = actions(session, args, banks).reconcile(args.bank, args.date, statements,
                                                         args.reason)
    report(result)  # (a refusal's audit row is committed first)
    run = session.get_one(ReconciliationRun, result.made_id)
    mismatches = json.loads(run.mismatches)
    print(f"{args.bank} statement for {args.date}: {run.statement_lines} line(s) "
          f"(stored as run {run.id})")
    if mismatches:
        print(table(["reference", "problem", "detail"], mismatches))
        print(f"{len(mismatches)} mismatch(es)")
        return PROBLEM
    print("no mismatches")
    return OK


def cmd_freeze(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    try:
        phone = normalize_phone(args.phone)
    except InvalidPhone as exc:
        raise WalletError(str(exc)) from None
    with session.begin():
        user = session.scalar(select(User).where(User.phone == phone))
        if user is None:
            raise WalletError(f"no user with phone {phone}")
        acts = actions(session, args, banks)
        result = (acts.freeze_wallet(user.id, args.reason) if args.command == "freeze"
                  else acts.unfreeze_wallet(user.id, args.reason))
    report(result)
    print(f"{phone}: {result.message}")
    return OK


def cmd_operator_add(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            raise WalletError("the two passwords differ")
    made = []

    def add() -> str:
        try:
            made.append(Services(session, args.settings).operators
                        .add(args.name, args.role, password))
        except AccountError as exc:
            raise WalletError(str(exc)) from None
        return f"{made[0].operator.name} ({args.role}) added"

    with session.begin():
        result = actions(session, args, banks).run("operator_add", "operator", args.name,
                                                   args.reason, add)
    report(result)
    new = made[0]
    print(f"operator {new.operator.name} ({new.operator.role}) added.")
    print("Add this to an authenticator app now; it is not shown again:")
    print(f"  secret: {new.totp_secret}")
    print(f"  URI:    {new.provisioning_uri}")
    return OK


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "") or "unknown"
def cmd_positions(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    """Each bank's position (the sum of its settlement shards) against our records."""
    shards, expected = shard_balances(session), expected_positions(session)
    rows = []
    for bank in sorted(shards.keys() | expected.keys() | banks.keys()):
        total = sum(shards.get(bank, {}).values())
        wanted = expected.get(bank, 0)
        rows.append((bank, len(shards.get(bank, {})), format_paise(total), format_paise(wanted),
                     "OK" if total == wanted else "MISMATCH"))
    print(table(["bank", "shards", "position", "by our records", "check"], rows))
    return OK if all(row[-1] == "OK" for row in rows) else PROBLEM


def cmd_reseal_pans(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    """Re-encrypt the PANs sealed under older keys, a batch per transaction."""
    keys = args.settings.pan_keys
    if keys is None:
        print("set wallet.pan_keys, wallet.pan_key_id and wallet.pan_hmac_key first",
              file=sys.stderr)
        return PROBLEM
    vault, total = PanVault(keys), 0
    while True:
        with session.begin():
            done = reseal_pans(session, vault)
        total += done
        if not done:
            break
    print(f"{total} PAN(s) re-encrypted under key {keys.current_id}")
    return OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wallet-admin", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="ini file: development.ini or production.ini")
    p.add_argument("--as", dest="actor", default=None,
                   help="who acts, in the audit log (default: the OS user)")
    sub = p.add_subparsers(dest="command", required=True)

    def reason(command: argparse.ArgumentParser) -> None:
        command.add_argument("--reason", default=None,
                             help="why (the audit log); default: 'via wallet-admin <command>'")

    sub.add_parser("verify").set_defaults(run=cmd_verify)
    w = sub.add_parser("withdrawals")
    w.add_argument("--status", choices=Status.WITHDRAWAL)
    w.set_defaults(run=cmd_withdrawals)
    r = sub.add_parser("retry")
    r.add_argument("id", type=int)
    reason(r)
    r.set_defaults(run=cmd_retry)
    z = sub.add_parser("resolve")
    z.add_argument("id", type=int)
    paid = z.add_mutually_exclusive_group(required=True)
    paid.add_argument("--paid", dest="paid", action="store_true")
    paid.add_argument("--not-paid", dest="paid", action="store_false")
    reason(z)
    z.set_defaults(run=cmd_resolve)
    d = sub.add_parser("deposits")
    d.add_argument("--stuck", action="store_true", help="only deposits still pending")
    d.add_argument("--minutes", type=int, default=10)
    d.set_defaults(run=cmd_deposits)
    c = sub.add_parser("reconcile")
    c.add_argument("--bank", required=True)
    c.add_argument("--date", required=True, type=dt.date.fromisoformat)
    reason(c)
    c.set_defaults(run=cmd_reconcile)
    for name in ("freeze", "unfreeze"):
        f = sub.add_parser(name)
        f.add_argument("phone")
        reason(f)
        f.set_defaults(run=cmd_freeze)
    o = sub.add_parser("operator").add_subparsers(dest="operator_command", required=True)
    a = o.add_parser("add")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=Role.ALL)
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin")
    reason(a)
    a.set_defaults(run=cmd_operator_add)
    sub.add_parser("positions").set_defaults(run=cmd_positions)
    sub.add_parser("reseal-pans").set_defaults(run=cmd_reseal_pans)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.actor = (args.actor or "").strip() or os_user()
    if hasattr(args, "reason") and not (args.reason or "").strip():
        args.reason = f"via wallet-admin {args.command}"
    raw = load_settings(args.config)
    args.settings = WalletSettings.from_dict(raw)
    banks = dict(args.settings.banks)
    engine = get_engine(raw)
    run: Callable[[Session, argparse.Namespace, Banks], int] = args.run
    try:
        # verify reads one snapshot; the other commands write in their own steps.
        session = (snapshot_session(engine) if args.command == "verify"
                   else WalletSession(engine, expire_on_commit=False))
        with session:
            return run(session, args, banks)
    except WalletError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return PROBLEM
    except BankUnavailable as exc:
        print(f"could not ask the bank: {exc}", file=sys.stderr)
        return BANK_DOWN
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
