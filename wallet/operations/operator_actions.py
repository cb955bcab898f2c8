"""What an operator may do, from the console or ``wallet-admin``: each action
goes through the domain's own rules (a resolve still refuses to contradict the
bank) and writes exactly one audit row -- done, refused or error.

An action that needs the bank's word runs in three steps, so no database
transaction is open while the bank is asked: read what to ask
(:func:`payout_to_ask`, :func:`deposit_to_ask`), end the transaction and ask
the bank (:func:`ask_payout_status` ...), then apply the answer with the
matching method of :class:`OperatorActions` in a new transaction. Its row of
the audit log commits with the action or not at all; a refusal writes its row
and nothing else (the action runs in a savepoint).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..banking.bank_client import BankClient
from ..banking.banks import BankConfig
from ..banking.deposits import DepositService, final_word, read_deposit_status
from ..banking.protocols import protocol_for
from ..banking.protocols.base import DepositStatus, PayoutWord, StatementLine
from ..banking.withdrawals import WithdrawalService
from ..core.codes import Kind, Status, payout_reference, utcnow
from ..core.errors import WalletError
from ..core.models import Merchant, Transaction, User
from ..core.notifications import Notice, notify
from ..core.observe import Observer
from ..core.tasks import TaskQueue
from ..core.text import is_ordinary, one_line
from ..identity.web_sessions import EndReason, PrincipalKind, WebSessions
from ..merchants.disputes import Disputes
from ..money.freeze import Freezing, freeze, unfreeze
from .audit import Actor, AuditLog, Outcome
from .bank_calls import reconcile
from .models import ReconciliationRun

__all__ = ["ActionResult", "OperatorActions", "ask_deposit_status", "ask_payout_status",
           "bank_statements", "deposit_to_ask", "payout_to_ask"]

MAX_REASON_CHARS = 500
Banks = Mapping[str, BankConfig]


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    #: What happened (the domain's word), or why it was refused.
    message: str
    #: Refused because the actor may not act (a viewer): the console's 403.
    forbidden: bool = False
    #: The form field the refusal concerns (e.g. reason).
    field: str | None = None
    #: The object made, if any (a reconciliation run's id).
    made_id: int | None = None


# ------------------------------------------------ before asking the bank


def payout_to_ask(db: Session, banks: Banks, transaction_id: int) -> tuple[BankConfig, str]:
    """The bank and reference to ask about a payout (a withdrawal or settlement)."""
    tx = db.get(Transaction, transaction_id)
    if tx is None or tx.kind != Kind.WITHDRAWAL or tx.bank_code not in banks:
        raise WalletError(f"no withdrawal {transaction_id}")
    return banks[tx.bank_code or ""], payout_reference(tx.id)


def deposit_to_ask(db: Session, banks: Banks, transaction_id: int) -> tuple[BankConfig, str]:
    """The bank and reference to ask about a pending deposit."""
    tx = db.get(Transaction, transaction_id)
    if tx is None or tx.kind != Kind.DEPOSIT or tx.bank_code not in banks or tx.token is None:
        raise WalletError(f"no deposit {transaction_id}")
    if tx.status != Status.PENDING:
        raise WalletError(f"deposit {transaction_id} is already {tx.status}")
    return banks[tx.bank_code or ""], tx.token


def ask_payout_status(bank: BankConfig, reference: str, timeout_s: float, *,
                      observer: Observer) -> PayoutWord | None:
    """What the bank says of a payout now (None: it has no such payout), in
    its protocol's reading. Raises BankUnavailable when the bank cannot say.
    (``observer``, in these three: who hears of the bank call, the caller's.)"""
    record = BankClient(bank, timeout_s=timeout_s, observer=observer).payout_status(reference)
    return None if record is None else protocol_for(bank).payout_word(record)


def ask_deposit_status(bank: BankConfig, reference: str, timeout_s: float, *,
                       observer: Observer) -> DepositStatus | None:
    record = BankClient(bank, timeout_s=timeout_s, observer=observer).payment_status(reference)
    return read_deposit_status(bank, record)


def bank_statements(bank: BankConfig, day: dt.date, timeout_s: float, *,
                    observer: Observer) -> dict[dt.date, list[StatementLine]]:
    """The bank's statements for the day before, the day and the day after
    (what :func:`wallet.operations.bank_calls.reconcile` compares against)."""
    client = BankClient(bank, timeout_s=timeout_s, observer=observer)
    protocol = protocol_for(bank)
    return {d: protocol.statement_lines(client.statement(d))
            for d in (day - dt.timedelta(days=1), day, day + dt.timedelta(days=1))}


# ------------------------------------------------------------- the actions


class OperatorActions:
    def __init__(self, db: Session, banks: Banks, actor: Actor, *,
                 tasks: TaskQueue | None = None, clock: Callable[[], dt.datetime] = utcnow,
                 deposit_expire_after_s: float,
                 deposits: DepositService, withdrawals: WithdrawalService,
                 disputes: Disputes) -> None:
        self.db = db
        self.banks = dict(banks)
        self.actor = actor
        self.tasks = tasks
        self.clock = clock
        self.deposit_expire_after = dt.timedelta(seconds=deposit_expire_after_s)
        self.deposits = deposits
        self.withdrawals = withdrawals
        #: Contested disputes of shop payments, decided here.
        self.disputes = disputes
        self.audit = AuditLog(db, clock=clock)

    # -- the frame every action runs in

    def check(self, action: str, object_type: str, object_id: object,
              reason: str) -> ActionResult | None:
        """The refusals that come before anything else (before the bank is
        asked): the actor may not act, or gave no reason. Audited; None if
        the action may go on."""
        reason = clean_reason(reason)
        if not self.actor.may_act:
            return self.refuse(action, object_type, object_id, reason,
                               f"a {self.actor.role} may not act", forbidden=True)
        if not reason:
            return self.refuse(action, object_type, object_id, reason,
                               "Give a reason (it goes in the audit log).", field="reason")
        if len(reason) > MAX_REASON_CHARS or not is_ordinary(reason):
            return self.refuse(action, object_type, object_id, reason[:MAX_REASON_CHARS],
                               f"Keep the reason to {MAX_REASON_CHARS} ordinary characters.",
                               field="reason")
        return None

    def refuse(self, action: str, object_type: str, object_id: object, reason: str,
               message: str, *, outcome: Outcome = Outcome.REFUSED, forbidden: bool = False,
               field: str | None = None) -> ActionResult:
        """Audit a refused (or failed) attempt; nothing else changes."""
        self.audit.record(self.actor, action, object_type, object_id, clean_reason(reason),
                          outcome, message)
        return ActionResult(False, message, forbidden=forbidden, field=field)

    def run(self, action: str, object_type: str, object_id: object, reason: str,
            fn: Callable[[], str]) -> ActionResult:
        """Run ``fn`` (returns what happened) under the checks, in a savepoint,
        and write its one audit row."""
        refused = self.check(action, object_type, object_id, reason)
        if refused is not None:
            return refused
        try:
            with self.db.begin_nested():
                outcome = fn()
        except WalletError as exc:
            return self.refuse(action, object_type, object_id, reason, str(exc))
        self.audit.record(self.actor, action, object_type, object_id, clean_reason(reason),
                          Outcome.DONE, outcome)
        return ActionResult(True, outcome)

    # -- payouts

    def retry_payout(self, transaction_id: int, reason: str) -> ActionResult:
        def retry() -> str:
            self.withdrawals.operator_retry(transaction_id)
            return "queued again"
        return self.run("retry", "withdrawal", transaction_id, reason, retry)

    def resolve_payout(self, transaction_id: int, paid: bool, bank_word: PayoutWord | None,
                       reason: str) -> ActionResult:
        """Settle a needs_review payout by hand; refused if the bank says otherwise."""
        said = bank_word.said if bank_word is not None else "no record"

        def resolve() -> str:
            outcome = self.withdrawals.operator_resolve(transaction_id, paid, bank_word)
            return f"{outcome} (bank says {said})"
        return self.run("resolve_paid" if paid else "resolve_not_paid", "withdrawal",
                        transaction_id, reason, resolve)

    # -- deposits

    def check_deposit(self, transaction_id: int, bank_status: DepositStatus | None,
                      reason: str) -> ActionResult:
        """Apply what the bank says now of a pending deposit, as the sweeper would."""
        def apply() -> str:
            tx = self.db.get(Transaction, transaction_id)
            if tx is None or tx.kind != Kind.DEPOSIT or tx.token is None or not tx.bank_code:
                raise WalletError(f"no deposit {transaction_id}")
            if tx.status != Status.PENDING:
                raise WalletError(f"deposit {transaction_id} is already {tx.status}")
            deposits = self.deposits
            word = final_word(bank_status, tx.created_at,
                              self.clock() - self.deposit_expire_after, tx.amount_paise)
            if word is None:
                deposits.mark_checked(tx.token)
                return "still pending at the bank"
            result = deposits.settle(tx.token, word.outcome, bank_code=tx.bank_code,
                                     amount_paise=word.amount_paise, currency=word.currency,
                                     source=f"operator {self.actor.name} (bank status API)",
                                     reason=word.reason)
            return result.verdict + (f": {result.detail}" if result.detail else "")
        return self.run("ask_bank", "deposit", transaction_id, reason, apply)

    # -- wallets

    def _user(self, user_id: int) -> User:
        user = self.db.get(User, user_id)
        if user is None:
            raise WalletError(f"no user {user_id}")
        return user

    def freeze_wallet(self, user_id: int, reason: str) -> ActionResult:
        def frozen() -> str:
            user = self._user(user_id)
            done = freeze(user, clean_reason(reason), self.clock())
            if done == Freezing.FROZEN:
                notify(self.db, user_id, Notice.WALLET_FROZEN,
                       f"Your wallet is frozen: money cannot leave it ({user.frozen_reason}). "
                       "You can still receive money. Contact support to have it lifted.",
                       now=self.clock())
            return done
        return self.run("freeze", "user", user_id, reason, frozen)

    def unfreeze_wallet(self, user_id: int, reason: str) -> ActionResult:
        def unfrozen() -> str:
            done = unfreeze(self._user(user_id))
            if done == Freezing.UNFROZEN:
                notify(self.db, user_id, Notice.WALLET_UNFROZEN,
                       "Your wallet is no longer frozen: you can send, pay and withdraw again.",
                       now=self.clock())
            return done
        return self.run("unfreeze", "user", user_id, reason, unfrozen)

    def sign_out_everywhere(self, kind: str, principal_id: int, reason: str) -> ActionResult:
        """End every session of a user (their API tokens too) or a shop: a
        stolen phone or laptop reported to support."""
        def end() -> str:
            model = User if kind == PrincipalKind.USER else Merchant
            if kind not in (PrincipalKind.USER, PrincipalKind.MERCHANT) or (
                    self.db.get(model, principal_id) is None):
                raise WalletError(f"no {kind} {principal_id}")
            ended = WebSessions(self.db, policy=None, clock=self.clock).end_all(
                kind, principal_id, EndReason.BY_OPERATOR)
            return f"{ended} session{'s' if ended != 1 else ''} ended"
        return self.run("sign_out", kind, principal_id, reason, end)

    # -- reconciliation

    def reconcile(self, bank_code: str, day: dt.date,
                  statements: Mapping[dt.date, Sequence[StatementLine]],
                  reason: str) -> ActionResult:
        """Compare the bank's statement with our records and store the result."""
        made: list[int] = []

        def compare() -> str:
            if bank_code not in self.banks:
                raise WalletError(f"unknown bank {bank_code!r}")
            mismatches = reconcile(self.db, bank_code, day, statements)
            run = ReconciliationRun(
                bank_code=bank_code, day=day, ran_at=self.clock(), actor=self.actor.name,
                statement_lines=len(statements.get(day, [])), mismatch_count=len(mismatches),
                mismatches=json.dumps([list(m) for m in mismatches]))
            self.db.add(run)
            self.db.flush()
            made.append(run.id)
            return f"run {run.id}: {len(mismatches)} mismatch(es)"
        result = self.run("reconcile", "bank_day", f"{bank_code}:{day.isoformat()}", reason,
                          compare)
        return ActionResult(result.ok, result.message, result.forbidden, result.field,
                            made[0] if made and result.ok else None)

    # -- disputes of shop payments

    def decide_dispute(self, dispute_id: int, for_customer: bool, reason: str) -> ActionResult:
        """Decide a contested dispute: for the customer (the hold refunds
        them) or for the shop (the hold is released)."""
        def decide() -> str:
            dispute = self.disputes.decide(dispute_id, for_customer=for_customer,
                                           decided_by=self.actor.name,
                                           reason=clean_reason(reason))
            return f"dispute {dispute.public_id} {dispute.status}"
        return self.run("decide_for_customer" if for_customer else "decide_for_shop",
                        "dispute", dispute_id, reason, decide)


def clean_reason(reason: str) -> str:
    return one_line(reason)
