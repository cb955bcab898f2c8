"""Operators' tool: wallet-admin CONFIG COMMAND [options]

    verify                              ledger verification + records vs ledger cross-checks
    withdrawals [--status S]            list withdrawals (e.g. --status needs_review)
    retry ID                            put a needs_review withdrawal back in its queue
    resolve ID --paid | --not-paid      settle a needs_review withdrawal by hand (bank checked first)
    deposits --stuck [--minutes N]      deposits pending for longer than N minutes
    reconcile --bank B --date D         the bank's statement for day D vs our records
    positions                           each bank's position: its settlement shards, summed

Exit status: 0 when all is well, 1 when something is wrong (problems found,
action refused), 2 when the bank could not be asked. Safe to run from cron.
"""  # noqa: E501 - --help prints this verbatim (RawDescriptionHelpFormatter): kept as is
from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerlib import format_paise, snapshot_session
from wallet.bank_client import BankClient, BankUnavailable
from wallet.banks import BankConfig
from wallet.codes import IST, Kind, Status, payout_reference
from wallet.errors import WalletError
from wallet.models import Transaction, User, Withdrawal, get_engine
from wallet.operations import reconcile, verify_all
from wallet.settings import WalletSettings, load_settings
from wallet.settlement import expected_positions, shard_balances
from wallet.tasks import load_task_queue
from wallet.withdrawals import WithdrawalService

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


def cmd_retry(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    settings: WalletSettings = args.settings
    tasks = load_task_queue(settings.task_queue, settings.raw)
    with session.begin():  # the worker hears of it once this commits
        WithdrawalService(session, banks, tasks=tasks).operator_retry(args.id)
    print(f"withdrawal {args.id} queued again; a worker will ask the bank before any resend")
    return OK


def cmd_resolve(session: Session, args: argparse.Namespace, banks: Banks) -> int:
    tx = session.get(Transaction, args.id)
    if tx is None or tx.kind != Kind.WITHDRAWAL or tx.bank_code is None:
        raise WalletError(f"no withdrawal {args.id}")
    bank_code, reference = tx.bank_code, payout_reference(tx.id)
    session.rollback()  # no transaction is held open while the bank is asked
    record = BankClient(banks[bank_code]).payout_status(reference)
    with session.begin():
        outcome = WithdrawalService(session, banks).operator_resolve(args.id, args.paid, record)
    said = record.get("status") if record else "no record"
    print(f"withdrawal {args.id}: {outcome} (bank says {said})")
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
    if args.bank not in banks:
        raise WalletError(f"unknown bank {args.bank!r}; known: {', '.join(banks)}")
    client = BankClient(banks[args.bank])
    days = [args.date + dt.timedelta(days=d) for d in (-1, 0, 1)]
    statements = {day: client.statement(day) for day in days}
    mismatches = reconcile(session, args.bank, args.date, statements)
    print(f"{args.bank} statement for {args.date}: {len(statements[args.date])} line(s)")
    if mismatches:
        print(table(["reference", "problem", "detail"], mismatches))
        print(f"{len(mismatches)} mismatch(es)")
        return PROBLEM
    print("no mismatches")
    return OK


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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wallet-admin", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="ini file: development.ini or production.ini")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("verify").set_defaults(run=cmd_verify)
    w = sub.add_parser("withdrawals")
    w.add_argument("--status", choices=Status.WITHDRAWAL)
    w.set_defaults(run=cmd_withdrawals)
    r = sub.add_parser("retry")
    r.add_argument("id", type=int)
    r.set_defaults(run=cmd_retry)
    z = sub.add_parser("resolve")
    z.add_argument("id", type=int)
    paid = z.add_mutually_exclusive_group(required=True)
    paid.add_argument("--paid", dest="paid", action="store_true")
    paid.add_argument("--not-paid", dest="paid", action="store_false")
    z.set_defaults(run=cmd_resolve)
    d = sub.add_parser("deposits")
    d.add_argument("--stuck", action="store_true", help="only deposits still pending")
    d.add_argument("--minutes", type=int, default=10)
    d.set_defaults(run=cmd_deposits)
    c = sub.add_parser("reconcile")
    c.add_argument("--bank", required=True)
    c.add_argument("--date", required=True, type=dt.date.fromisoformat)
    c.set_defaults(run=cmd_reconcile)
    sub.add_parser("positions").set_defaults(run=cmd_positions)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    raw = load_settings(args.config)
    args.settings = WalletSettings.from_dict(raw)
    banks = dict(args.settings.banks)
    engine = get_engine(raw)
    run: Callable[[Session, argparse.Namespace, Banks], int] = args.run
    try:
        # verify reads one snapshot; the other commands write in their own steps.
        session = (snapshot_session(engine) if args.command == "verify"
                   else Session(engine, expire_on_commit=False))
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
