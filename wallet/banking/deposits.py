"""Deposits (on-ramp): the one place their state machine lives.

    pending --bank says success--> success   (wallet credited in the same DB transaction)
    pending --bank says failed---> failed
    success, failed: final. A later contradicting report is recorded and flagged,
    never applied; a report whose amount or currency differs from ours is flagged
    and never credited.

The webhook app and the stuck-deposit sweeper both call :meth:`DepositService.settle`,
which locks the deposit's row first, so the two settling one deposit at the same
moment credit it exactly once. The amount credited is always our stored one.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Callable, Protocol
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerlib import Ledger, format_paise

from ..core import codes
from ..core.codes import CURRENCY, DepositAnswer, Kind, Settled, Status, utcnow
from ..core.errors import WalletError
from ..core.models import Transaction, User
from ..core.notifications import Notice, notify
from ..core.tasks import TransactionRunner
from ..money import records
from ..money.errors import AmountTooLarge
from ..money.limits import WalletLimits
from . import settlement
from .bank_client import BankRecord, BankUnavailable
from .banks import DEFAULT_SETTLEMENT_SHARDS, BankConfig
from .protocols import protocol_for
from .protocols.base import DepositStatus

MIN_DEPOSIT_PAISE = 1_00
MAX_DEPOSIT_PAISE = 1_00_000_00
#: ``status_reason`` of a deposit its user gave up on, or we did (not finished
#: at the bank in time): should the bank confirm it after all, it is credited.
CANCELLED_BY_USER = "cancelled by you"
EXPIRED_UNFINISHED = "no record at the bank: not completed in time"
#: The bank's page was opened but the payment never finished there by the
#: time the add-money page promised: given up too (paid later after all, it
#: is credited then, as any given-up deposit).
EXPIRED_AT_BANK = "still unfinished at the bank when its time ran out"
GIVEN_UP = (CANCELLED_BY_USER, EXPIRED_UNFINISHED, EXPIRED_AT_BANK)
SWEEP_BATCH = 100


@dataclass(frozen=True)
class SettleResult:
    verdict: Settled
    transaction: Transaction | None = None
    detail: str = ""


class PaymentStatusSource(Protocol):
    """A bank's status API for deposits (wallet.banking.bank_client.BankClient): the
    bank's record as it sent it, read by the bank's protocol."""

    def payment_status(self, reference: str, /) -> BankRecord | None: ...


class DepositService:
    def __init__(
        self,
        dbsession: Session,
        banks: dict[str, BankConfig],
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        ledger: Ledger,
        limits: WalletLimits,
    ):
        self.db = dbsession
        self.banks = banks
        self.clock = clock
        self.ledger = ledger
        #: A deposit is started only if the user's wallet can take it.
        self.limits = limits

    def start(self, user: User, bank_code: str, amount_paise: int, request_key: str) -> Transaction:
        """Record a pending deposit, if the wallet's limits allow it (checked
        here, before the user is sent to the bank); the same form submitted
        twice gives the same one."""
        if bank_code not in self.banks:
            raise WalletError("Choose one of the listed banks.", "bank")
        if amount_paise < MIN_DEPOSIT_PAISE:
            raise WalletError(f"Add at least {format_paise(MIN_DEPOSIT_PAISE)}.", "amount")
        if amount_paise > MAX_DEPOSIT_PAISE:
            raise AmountTooLarge(f"Add at most {format_paise(MAX_DEPOSIT_PAISE)} at a time.")
        key = records.idempotency_key("deposit", user, request_key)
        existing = records.replay(self.db, key, bank_code=bank_code, amount_paise=amount_paise)
        if existing is not None:
            return existing
        # Under the user's row lock until commit: deposits started at once
        # are counted one after the other.
        self.limits.check_deposit(user, amount_paise)
        now = self.clock()
        tx = Transaction(
            kind=Kind.DEPOSIT,
            status=Status.PENDING,
            amount_paise=amount_paise,
            payee_user_id=user.id,
            bank_code=bank_code,
            token=secrets.token_urlsafe(24),  # unguessable: it is the bank's reference
            note=f"Added from {self.banks[bank_code].name}",
            idempotency_key=key,
            created_at=now,
            updated_at=now,
        )
        try:
            with self.db.begin_nested():
                self.db.add(tx)
                self.db.flush()
        except IntegrityError:  # the same form, submitted twice at once: the other won
            replay = records.replay(self.db, key, bank_code=bank_code, amount_paise=amount_paise)
            if replay is None:
                raise
            return replay
        return tx

    def netbanking_url(self, tx: Transaction, return_url: str) -> str:
        if tx.bank_code is None:
            raise ValueError(f"deposit {tx.id} has no bank")
        bank = self.banks[tx.bank_code]
        query = urlencode({"reference": tx.token, "amount_paise": tx.amount_paise,
                           "currency": CURRENCY, "return_url": return_url})
        return f"{bank.netbanking_url}?{query}"

    def for_user(self, user: User, token: str) -> Transaction | None:
        tx = self.db.scalar(select(Transaction).where(
            Transaction.token == token, Transaction.kind == Kind.DEPOSIT))
        return tx if tx is not None and tx.payee_user_id == user.id else None

    def settle(
        self,
        token: str,
        outcome: DepositAnswer,
        *,
        bank_code: str,
        amount_paise: int | None,
        currency: str | None,
        source: str,
        reason: str = "",
    ) -> SettleResult:
        """Apply the bank's word on a deposit: exactly once, and only from
        pending. ``amount_paise`` and ``currency`` are what the bank reported
        (None: nothing we could read), flagged unless they are ours."""
        if outcome not in DepositAnswer.ALL:
            raise ValueError(f"a deposit outcome is one of {DepositAnswer.ALL}, not {outcome!r}")
        outcome = DepositAnswer(outcome)  # (a bare string from a caller)
        tx = self.db.scalar(
            select(Transaction)
            .where(Transaction.token == token, Transaction.kind == Kind.DEPOSIT)
            # Lock only this row: the eager-loaded payer/payee are outer joins.
            .with_for_update(of=Transaction, key_share=True)
        )
        if tx is None or tx.bank_code != bank_code:
            return SettleResult(Settled.UNKNOWN_REFERENCE, None,
                                "no deposit with that reference at this bank")
        now = self.clock()
        if (amount_paise, currency) != (tx.amount_paise, CURRENCY):
            reported = (f"{amount_paise} {currency}" if amount_paise is not None
                        else "no amount we can read")
            tx.flag_reason = (
                f"{source} reported {reported} for a deposit of {tx.amount_paise} {CURRENCY}"
            )[:300]
            tx.updated_at = now
            return SettleResult(Settled.MISMATCH, tx, tx.flag_reason)
        if (tx.status == Status.FAILED and tx.status_reason in GIVEN_UP
                and outcome == DepositAnswer.SUCCESS):
            # The checkout was given up (by the user, or by us after the
            # expiry), yet paid at the bank after all: the wallet gets it.
            tx.status, tx.status_reason = Status.PENDING, None
        if tx.status != Status.PENDING:
            if tx.status == outcome.status:
                return SettleResult(Settled.ALREADY_SETTLED, tx)
            tx.flag_reason = f"{source} reported {outcome} after the deposit was {tx.status}"
            tx.updated_at = now
            return SettleResult(Settled.CONTRADICTION, tx, tx.flag_reason)

        self._apply(tx, outcome, reason, now)
        return SettleResult(
            Settled.CREDITED if outcome == DepositAnswer.SUCCESS else Settled.FAILED, tx)

    def _apply(self, tx: Transaction, outcome: DepositAnswer, reason: str,
               now: dt.datetime) -> None:
        """A pending deposit settled: credited (our amount, never the reported
        one) or failed, its owner told either way."""
        bank_name = self.banks[tx.bank_code].name if tx.bank_code in self.banks else "your bank"
        if outcome == DepositAnswer.SUCCESS:
            if tx.payee_user_id is None or tx.token is None or tx.bank_code is None:
                raise ValueError(f"deposit {tx.id} lacks its payee, reference or bank")
            entry = self.ledger.transfer(
                self._settlement_account(tx.bank_code, tx.token),
                codes.user_wallet(tx.payee_user_id),
                tx.amount_paise,
                idempotency_key=codes.onramp_key(tx.token),
                memo=tx.note,
                metadata={"kind": Kind.DEPOSIT, "transaction_id": tx.id},
            )
            tx.ledger_entry_id = entry.id
            notify(self.db, tx.payee_user_id, Notice.DEPOSIT_CONFIRMED,
                   f"{format_paise(tx.amount_paise)} added from {bank_name}", tx, now=now)
        else:
            tx.status_reason = (reason or "declined by the bank")[:200]
            notify(self.db, tx.payee_user_id, Notice.DEPOSIT_FAILED,
                   f"Adding {format_paise(tx.amount_paise)} from {bank_name} did not go "
                   f"through: nothing was taken", tx, now=now)
        tx.status = outcome.status
        tx.settled_at = tx.updated_at = now

    def cancel(self, user: User, token: str) -> Transaction | None:
        """The user gives up on a deposit still waiting for the bank. Nothing
        was paid as far as we know; should the bank still confirm a payment,
        :meth:`settle` credits it after all."""
        tx = self.db.scalar(select(Transaction).where(
            Transaction.token == token, Transaction.kind == Kind.DEPOSIT,
            Transaction.payee_user_id == user.id)
            .with_for_update(of=Transaction, key_share=True))
        if tx is None:
            return None
        if tx.status == Status.PENDING:
            now = self.clock()
            tx.status, tx.status_reason = Status.FAILED, CANCELLED_BY_USER
            tx.settled_at = tx.updated_at = now
        return tx

    def expires_at(self, tx: Transaction, expire_after_s: float) -> dt.datetime:
        """When a deposit still pending is given up (see sweep_stuck_deposits)."""
        return tx.created_at + dt.timedelta(seconds=expire_after_s)

    def _settlement_account(self, bank_code: str, token: str) -> str:
        """One of the bank's settlement shards (wallet.banking.settlement), by the
        deposit's token."""
        bank = self.banks.get(bank_code)
        shards = bank.settlement_shards if bank is not None else DEFAULT_SETTLEMENT_SHARDS
        return settlement.account_for(self.ledger, bank_code, shards, token)

    def stuck_tokens(self, older_than: dt.timedelta,
                     batch: int = SWEEP_BATCH) -> list[str]:
        """Deposits pending for longer than ``older_than``, not flagged for a human
        and not checked within ``older_than``; least recently checked first, so
        abandoned checkouts cannot starve the others."""
        cutoff = self.clock() - older_than
        return list(self.db.scalars(
            select(Transaction.token)
            .where(Transaction.kind == Kind.DEPOSIT, Transaction.status == Status.PENDING,
                   Transaction.flag_reason.is_(None),
                   Transaction.created_at < cutoff, Transaction.updated_at <= cutoff)
            .order_by(Transaction.updated_at, Transaction.id)
            .limit(batch)
        ))

    def mark_checked(self, token: str) -> None:
        """The bank had nothing final to say: check the others before this one again."""
        tx = self.db.scalar(select(Transaction).where(
            Transaction.token == token, Transaction.status == Status.PENDING))
        if tx is not None:
            tx.updated_at = self.clock()

    def record_completed(self, user: User, bank_code: str, amount_paise: int,
                         request_key: str) -> Transaction:
        """A deposit that starts and succeeds at once (demo data, tests)."""
        tx = self.start(user, bank_code, amount_paise, request_key)
        if tx.token is None:
            raise ValueError(f"deposit {tx.id} has no reference")
        self.settle(tx.token, DepositAnswer.SUCCESS, bank_code=bank_code, amount_paise=amount_paise,
                    currency=CURRENCY, source="seed")
        return tx


@dataclass(frozen=True)
class FinalWord:
    """What the bank's status API finally says of a stuck deposit."""

    outcome: DepositAnswer
    #: As the bank reported them (None: none we could read): settle() flags
    #: any that differ from ours.
    amount_paise: int | None
    currency: str | None
    reason: str


def final_word(status: DepositStatus | None, created_at: dt.datetime,
               expire_before: dt.datetime, amount_paise: int) -> FinalWord | None:
    """The bank's final word on a stuck deposit (``status``: what its status
    API says, None if it has no record), or None while it is pending."""
    if status is None and created_at < expire_before:
        # The bank never heard of it, long after the checkout: nothing was paid.
        return FinalWord(DepositAnswer.FAILED, amount_paise, CURRENCY, EXPIRED_UNFINISHED)
    if status is not None and status.outcome is None and created_at < expire_before:
        # Opened at the bank and left there: given up at the time the page
        # promised, not waited for for ever (a late payment is still credited).
        return FinalWord(DepositAnswer.FAILED, amount_paise, CURRENCY, EXPIRED_AT_BANK)
    if status is None or status.outcome is None:
        return None  # the customer may still be on the way to the bank's page
    return FinalWord(status.outcome, status.amount_paise, status.currency, status.reason)


def read_deposit_status(bank: BankConfig, record: BankRecord | None) -> DepositStatus | None:
    """What ``bank``'s status API record of a deposit means (None: it has none)."""
    return None if record is None else protocol_for(bank).deposit_status(record)


def sweep_stuck_deposits(
    run_in_transaction: TransactionRunner,
    banks: dict[str, BankConfig],
    client_for: Callable[[BankConfig], PaymentStatusSource],
    *,
    deposits_for: Callable[[Session], DepositService],
    older_than: dt.timedelta,
    expire_after: dt.timedelta,
    batch: int = SWEEP_BATCH,
) -> dict[str, int]:
    """Ask the bank about deposits pending too long and settle them.

    ``run_in_transaction(fn)`` runs ``fn(session)`` in its own committed
    transaction. No transaction is open while the bank is asked; each deposit is
    then settled in a transaction of its own, by :meth:`DepositService.settle`,
    which re-checks the state under a row lock (a webhook may have won meanwhile).
    ``deposits_for(session)``: the deposits' state machine on that session
    (wallet.services builds it, with the wallet's policies).
    """
    def stuck(session: Session) -> list[tuple[str, str | None, int, dt.datetime]]:
        service = deposits_for(session)
        found = []
        for token in service.stuck_tokens(older_than, batch):
            tx = session.execute(select(Transaction).where(Transaction.token == token)
                                 ).scalar_one()
            found.append((token, tx.bank_code, tx.amount_paise, tx.created_at))
        return found

    def checked(token: str) -> None:
        run_in_transaction(lambda session: deposits_for(session).mark_checked(token))

    counts = {"checked": 0, "settled": 0, "still_pending": 0, "bank_unavailable": 0}
    now = utcnow()
    for token, bank_code, amount_paise, created_at in run_in_transaction(stuck):
        counts["checked"] += 1
        if bank_code is None or bank_code not in banks:
            continue
        try:
            record = client_for(banks[bank_code]).payment_status(token)
        except BankUnavailable:
            counts["bank_unavailable"] += 1
            checked(token)
            continue
        word = final_word(read_deposit_status(banks[bank_code], record), created_at,
                          now - expire_after, amount_paise)
        if word is None:
            counts["still_pending"] += 1
            checked(token)
            continue

        def settle(session: Session, token: str = token, bank_code: str = bank_code,
                   word: FinalWord = word) -> SettleResult:
            return deposits_for(session).settle(
                token, word.outcome, bank_code=bank_code, amount_paise=word.amount_paise,
                currency=word.currency, source="sweeper (bank status API)", reason=word.reason,
            )

        result = run_in_transaction(settle)
        if result.verdict.applied:
            counts["settled"] += 1
    return counts
