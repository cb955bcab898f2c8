"""Withdrawals (off-ramp) and merchants' settlements: the one place their
state machine lives. A user's withdrawal needs their wallet PIN; a shop's
settlement goes only to one of its registered bank accounts, with its shop
PIN (wallet.banking.merchant_bank_accounts), quoted first for the confirm step.

    queued --a worker takes the user's lane--> sending
    sending --bank accepts--> completed --bank reverses--> reversed
          | --bank rejects--> failed (hold released)
          | --unclear answer--> ask the bank's status API, then
          |                     settle, or resend after backoff
          +--retry budget spent--> needs_review (hold kept)

The request only records the withdrawal and holds the money (one DB
transaction), then, after commit, tells the task queue that the owner has
payout work; workers drive the rest (wallet.banking.payouts). Every definite answer
about a payout -- from the bank's payout or status API, a webhook, or an
operator who asked the bank -- is applied here, by :meth:`WithdrawalService.settle`,
under the withdrawal's row lock.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, lazyload

from ledgerlib import InsufficientFunds, Ledger, format_paise

from ..core import codes
from ..core.codes import (
    CURRENCY,
    AttemptKind,
    AttemptOutcome,
    Kind,
    PayoutAnswer,
    Settled,
    Status,
    utcnow,
)
from ..core.errors import WalletError
from ..core.models import Merchant, Transaction, User
from ..core.notifications import Notice, notify
from ..core.tasks import NoTaskQueue, TaskQueue, after_commit
from ..identity.pins import PinInput, Pins
from ..money import records, shop_shards
from ..money.errors import AmountTooLarge, InsufficientBalance
from ..money.freeze import ensure_can_spend
from ..money.quotes import AmountInput, read_amount, refuse_if_any
from . import settlement
from .banks import BankConfig, clean_payee, payee_problems
from .merchant_bank_accounts import MerchantBankAccounts
from .models import MerchantBankAccount, PayoutAttempt, UserBankAccount, Withdrawal
from .protocols.base import PayoutWord
from .withdrawal_quotes import SettlementQuote, WithdrawalQuote

MIN_WITHDRAWAL_PAISE = 1_00
MAX_WITHDRAWAL_PAISE = 1_00_000_00


@dataclass(frozen=True)
class Owner:
    """Whose payouts: a user's withdrawals or a merchant's settlements."""

    kind: str  # USER or MERCHANT
    id: int

    USER = "user"
    MERCHANT = "merchant"

    @classmethod
    def of(cls, value: "Owner | int | str") -> "Owner":
        """An Owner from itself, a user id, or a key such as "merchant:3"."""
        if isinstance(value, Owner):
            return value
        if isinstance(value, int):
            return cls(cls.USER, value)
        kind, _, number = str(value).partition(":")
        if kind not in (cls.USER, cls.MERCHANT) or not number.isdigit():
            raise ValueError(f"not a payout owner: {value!r}")
        return cls(kind, int(number))

    @classmethod
    def for_account(cls, account: User | Merchant) -> "Owner":
        return cls(cls.MERCHANT if isinstance(account, Merchant) else cls.USER, account.id)

    @property
    def key(self) -> str:
        return codes.owner_ref(self.kind, self.id)

    @property
    def wallet_code(self) -> str:
        return (codes.user_wallet(self.id) if self.kind == self.USER
                else codes.merchant_wallet(self.id))

    @property
    def payer_column(self) -> InstrumentedAttribute[int | None]:
        return (Transaction.payer_user_id if self.kind == self.USER
                else Transaction.payer_merchant_id)

    def of_transaction(self, tx: Transaction) -> bool:
        return (tx.payer_user_id if self.kind == self.USER
                else tx.payer_merchant_id) == self.id

    @classmethod
    def payer_of(cls, tx: Transaction) -> Owner:
        """Whose payout ``tx`` is."""
        if tx.payer_user_id is not None:
            return cls(cls.USER, tx.payer_user_id)
        if tx.payer_merchant_id is None:
            raise ValueError(f"transaction {tx.id} has no payer")
        return cls(cls.MERCHANT, tx.payer_merchant_id)

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class PayoutProgress:
    bank_calls: int
    #: The last call to the bank had no clear answer (timeout, 5xx): an outage,
    #: as far as the user is concerned, while we keep trying.
    bank_not_answering: bool


def _account_id(value: str | int) -> int | None:
    """A registered account's id as a form sent it (digits), else None."""
    if isinstance(value, int):
        return value
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


#: A payout's final status -> what settling it did.
_SETTLED_AS: dict[Status, Settled] = {Status.COMPLETED: Settled.COMPLETED,
                                   Status.FAILED: Settled.FAILED,
                                   Status.REVERSED: Settled.REVERSED}


def payout_details(db: Session, transaction_id: int) -> Withdrawal:
    """The payout details of a withdrawal (written with its transaction: always there)."""
    wd = db.get(Withdrawal, transaction_id)
    if wd is None:
        raise LookupError(f"withdrawal {transaction_id} has no payout details")
    return wd


class WithdrawalService:
    """What a request does: record a withdrawal and hold its money."""

    def __init__(self, dbsession: Session, banks: dict[str, BankConfig], *,
                 clock: Callable[[], dt.datetime] = utcnow,
                 tasks: TaskQueue | None = None, ledger: Ledger, pins: Pins,
                 bank_accounts: MerchantBankAccounts,
                 settlement_progress: Callable[[Transaction], None] | None = None):
        self.db = dbsession
        self.banks = banks
        self.clock = clock
        self.tasks: TaskQueue = tasks or NoTaskQueue()
        self.ledger = ledger
        #: A user's withdrawal is approved by their wallet PIN.
        self.pins = pins
        #: Where shops' settlements may go (with the shop PIN, whose rules are the wallet PIN's).
        self.bank_accounts = bank_accounts
        #: Told of each shop payout settled (paid, failed, returned), under its row
        #: lock: its settlement follows it (wallet.banking.auto_settlement).
        self.settlement_progress = settlement_progress

    def expire_holds(self, *, limit: int = 1000) -> list[int]:
        """Record the ledger holds past their expiry (withdrawals' money, the
        only holds with one: a transfer held for its undo window has none)
        as expired: the periodic sweep; the funds check already counts them
        as released. Their ids."""
        return [hold.id for hold in self.ledger.expire_holds(limit=limit)]

    def _payouts_due_after_commit(self, owner: Owner) -> None:
        after_commit(self.db, lambda: self.tasks.payouts_due(owner.key))

    def request(self, user: User | Merchant, bank_code: str, account_number: str, ifsc: str,
                amount_paise: int, request_key: str, *, pin: PinInput) -> Transaction:
        """Record a withdrawal (a merchant's: a settlement) and hold its money;
        a user's is approved by their wallet PIN, a shop's goes only to one of
        its registered accounts and is approved by its shop PIN. After commit,
        the task queue hears that the owner has payout work. The same form
        submitted twice gives the first withdrawal."""
        tx = self._request(user, bank_code, account_number, ifsc, amount_paise, request_key,
                           pin)
        self._payouts_due_after_commit(Owner.for_account(user))
        return tx

    def settlement_payout(self, merchant: Merchant, account: MerchantBankAccount,
                          amount_paise: int, request_key: str, *, max_paise: int) -> Transaction:
        """One payout of a shop's settlement (wallet.banking.auto_settlement):
        its money held and the payout queued as :meth:`request` does, but
        approved by the settlement's own standing (the schedule set with the
        shop PIN, or the PIN already asked) to ``account``, which the caller
        locked and checked; at most ``max_paise`` (the bank's cap) instead of
        the per-request one."""
        tx = self._request(merchant, account.bank_code, account.account_number, account.ifsc,
                           amount_paise, request_key, None, approved=account,
                           max_paise=max_paise)
        self._payouts_due_after_commit(Owner.for_account(merchant))
        return tx

    def quote(self, user: User, bank_code: str, account_number: str, ifsc: str,
              amount: AmountInput) -> WithdrawalQuote:
        """A user's withdrawal, checked for its confirm step
        (wallet.money.quotes): the amount read, every detail's problem at
        once, then the amount's range (:meth:`check`); no query."""
        problems: dict[str, str] = {}
        amount_paise = read_amount(amount, problems, max_paise=MAX_WITHDRAWAL_PAISE,
                                   check=lambda paise: None)  # (its range: check, below)
        problems.update(self.check_details(bank_code, account_number, ifsc))
        refuse_if_any(problems)
        assert amount_paise is not None
        account_number, ifsc = self.check(bank_code, account_number, ifsc, amount_paise)
        return WithdrawalQuote(self, user, bank_code, account_number, ifsc, amount_paise)

    def quote_saved(self, user: User, account: UserBankAccount,
                    amount: AmountInput) -> WithdrawalQuote:
        """A user's withdrawal to one of their saved accounts
        (wallet.banking.saved_accounts: the caller found it), checked as
        :meth:`quote` checks typed details; its confirm page names the holder
        as the bank reported them."""
        quote = self.quote(user, account.bank_code, account.account_number, account.ifsc,
                           amount)
        return dataclasses.replace(quote, holder_name=account.holder_name)

    def quote_settlement(self, merchant: Merchant, account: str | int,
                         amount: AmountInput) -> SettlementQuote:
        """A shop's settlement to its registered account (``account``: its id,
        as a form sent it) checked for its confirm step as far as it can be
        without the shop PIN (so without counting a try): the amount read,
        every field's problem at once, then the account registered and past
        its cooling-off, the amount's range, the balance."""
        problems: dict[str, str] = {}
        amount_paise = read_amount(amount, problems, max_paise=MAX_WITHDRAWAL_PAISE,
                                   check=lambda paise: None)  # (its range: check, below)
        account_id = _account_id(account)
        if account_id is None:
            problems["account"] = "Choose one of your registered bank accounts."
        refuse_if_any(problems)
        assert amount_paise is not None and account_id is not None
        ensure_can_spend(merchant)
        payee = self.bank_accounts.payable(merchant, account_id)
        self.check(payee.bank_code, payee.account_number, payee.ifsc, amount_paise)
        available = shop_shards.balance(self.ledger, merchant).available_paise
        if amount_paise > available:
            raise InsufficientBalance(
                f"Your available balance is {format_paise(available)}: "
                f"not enough to settle {format_paise(amount_paise)}.")
        return SettlementQuote(self, merchant, payee, amount_paise,
                               f"Settle {format_paise(amount_paise)} to "
                               f"{self.bank_accounts.name(payee)}?")

    def check(self, bank_code: str, account_number: str, ifsc: str,
              amount_paise: int, *, max_paise: int = MAX_WITHDRAWAL_PAISE) -> tuple[str, str]:
        """The payout details checked (the confirm step shows them): the
        account number and IFSC as stored."""
        account_number, ifsc = clean_payee(account_number, ifsc)
        problems = self.check_details(bank_code, account_number, ifsc)
        if amount_paise < MIN_WITHDRAWAL_PAISE:
            problems["amount"] = f"Withdraw at least {format_paise(MIN_WITHDRAWAL_PAISE)}."
        if amount_paise > max_paise:
            too_large = f"Withdraw at most {format_paise(max_paise)} at a time."
            if not problems:
                raise AmountTooLarge(too_large)
            problems["amount"] = too_large
        if problems:
            raise WalletError.of_fields(problems)
        return account_number, ifsc

    def _request(self, user: User | Merchant, bank_code: str, account_number: str, ifsc: str,
                 amount_paise: int, request_key: str, pin: PinInput, *,
                 approved: MerchantBankAccount | None = None,
                 max_paise: int = MAX_WITHDRAWAL_PAISE) -> Transaction:
        ensure_can_spend(user)  # before the PIN: a frozen wallet costs no try
        owner = Owner.for_account(user)
        account_number, ifsc = self.check(bank_code, account_number, ifsc, amount_paise,
                                          max_paise=max_paise)
        key = records.idempotency_key(
            "withdrawal" if owner.kind == Owner.USER else "settlement", user, request_key)
        existing = records.replay(self.db, key, bank_code=bank_code, amount_paise=amount_paise)
        if existing is not None:  # the same form again (no PIN compared), or refused
            return existing
        if isinstance(user, User):  # after every check of the request itself
            self.pins.approve(user, pin)
        elif approved is None:  # a shop: to a registered account only, with the shop PIN
            self.bank_accounts.approve_payout(user, bank_code, account_number, ifsc, pin)
        # (else a settlement's payout: its account locked and checked by its caller)
        now = self.clock()
        tx = Transaction(kind=Kind.WITHDRAWAL, status=Status.QUEUED, amount_paise=amount_paise,
                         payer_user_id=user.id if owner.kind == Owner.USER else None,
                         payer_merchant_id=user.id if owner.kind == Owner.MERCHANT else None,
                         bank_code=bank_code,
                         note=f"To {self.banks[bank_code].name} a/c ••{account_number[-4:]}",
                         idempotency_key=key, created_at=now, updated_at=now)
        try:
            with self.db.begin_nested():  # the hold may refuse: then no record either
                self.db.add(tx)
                self.db.flush()
                # The shard its payout goes through, by its reference at the bank.
                account = settlement.account_for(
                    self.ledger, bank_code, self.banks[bank_code].settlement_shards,
                    codes.payout_reference(tx.id))
                if isinstance(user, Merchant):  # its receiving shards into its wallet first
                    shop_shards.consolidate(self.ledger, user, with_accounts=[account])
                hold = self.ledger.hold(
                    owner.wallet_code, account, amount_paise,
                    idempotency_key=codes.withdrawal_hold_key(tx.id),
                    memo=tx.note, metadata={"kind": Kind.WITHDRAWAL, "transaction_id": tx.id})
                self.db.add(Withdrawal(
                    transaction_id=tx.id, account_number=account_number, ifsc=ifsc,
                    hold_id=hold.id, user_id=user.id if owner.kind == Owner.USER else None,
                    merchant_id=user.id if owner.kind == Owner.MERCHANT else None))
                self.db.flush()
        except InsufficientFunds as exc:
            raise InsufficientBalance(
                f"Your available balance is {format_paise(exc.available_paise)}: "
                f"not enough to withdraw {format_paise(amount_paise)}.") from None
        except IntegrityError:  # the same form, submitted twice at once: the other won
            replay = records.replay(self.db, key, bank_code=bank_code, amount_paise=amount_paise)
            if replay is None:
                raise
            return replay
        return tx

    def check_details(self, bank_code: str, account_number: str, ifsc: str) -> dict[str, str]:
        """Every problem with where the money would go, by field (empty: none)."""
        return payee_problems(self.banks, bank_code, account_number, ifsc)

    def for_user(self, user: User | Merchant,
                 transaction_id: int) -> tuple[Transaction, Withdrawal] | None:
        """The withdrawal if it is ``user``'s (a user or a merchant); else None (a 404)."""
        tx = self.db.get(Transaction, transaction_id)
        if (tx is None or tx.kind != Kind.WITHDRAWAL
                or not Owner.for_account(user).of_transaction(tx)):
            return None
        return tx, payout_details(self.db, tx.id)

    def progress(self, tx: Transaction) -> PayoutProgress:
        """What the user should be told beyond the status: how many calls we
        made to the bank, and whether the bank is failing to answer."""
        calls = [a for a in self.attempts(tx.id) if a.kind != AttemptKind.OPERATOR]
        answered = [a for a in calls if a.finished_at is not None]
        trouble = (tx.status in Status.PAYOUT_OPEN and bool(answered)
                   and answered[-1].outcome == AttemptOutcome.UNKNOWN)
        return PayoutProgress(bank_calls=len(calls), bank_not_answering=trouble)

    def attempts(self, transaction_id: int) -> list[PayoutAttempt]:
        return list(self.db.scalars(select(PayoutAttempt)
                                    .where(PayoutAttempt.transaction_id == transaction_id)
                                    .order_by(PayoutAttempt.id)))

    # ----------------------------------------------------- settling (locked)

    def settle(self, transaction_id: int, outcome: PayoutAnswer, *, reason: str = "",
               source: str = "") -> Settled:
        """Apply a definite bank answer to a withdrawal, under its row lock.

        Returns what happened: completed, failed, reversed, already_settled,
        or contradiction (flagged, not applied).
        """
        outcome = PayoutAnswer(outcome)  # (a bare string from a caller: refused if unknown)
        tx, wd = self.db.execute(
            select(Transaction, Withdrawal).join(Withdrawal)
            .options(lazyload("*"))  # just the two rows: no joined payer/payee
            .where(Transaction.id == transaction_id)
            .with_for_update(of=Transaction, key_share=True)).one()
        ledger = self.ledger
        now = self.clock()
        target = outcome.status
        if tx.status == target or (tx.status == Status.REVERSED
                                   and outcome == PayoutAnswer.ACCEPTED):
            return Settled.ALREADY_SETTLED  # (accepted is old news once the payout came back)
        never_sent = tx.status == Status.QUEUED and self.db.scalar(
            select(PayoutAttempt.id).where(PayoutAttempt.transaction_id == tx.id,
                                           PayoutAttempt.kind == AttemptKind.SEND).limit(1)) is None
        if tx.status in Status.PAYOUT_IN_FLIGHT and not never_sent:
            if outcome == PayoutAnswer.REJECTED:
                ledger.release_hold(wd.hold_id)
                wd.failure_reason = (reason or "rejected by the bank")[:300]
            else:
                tx.ledger_entry_id = ledger.commit_hold(wd.hold_id).id
                if outcome == PayoutAnswer.REVERSED:  # paid, then returned by the bank
                    self._refund(tx)
                    wd.failure_reason = (reason or "returned by the bank")[:300]
            tx.status, tx.settled_at, tx.updated_at = target, now, now
            wd.next_attempt_at = None
            self._notify(tx, target)
            self._progress(tx)
            return _SETTLED_AS[target]
        if tx.status == Status.COMPLETED and outcome == PayoutAnswer.REVERSED:
            self._refund(tx)
            tx.status, tx.updated_at = Status.REVERSED, now
            wd.failure_reason = (reason or "returned by the bank")[:300]
            self._notify(tx, Status.REVERSED)
            self._progress(tx)
            return Settled.REVERSED
        tx.flag_reason = f"{source or 'bank'} reported {outcome} after {tx.status}"[:300]
        tx.updated_at = now
        return Settled.CONTRADICTION

    def _progress(self, tx: Transaction) -> None:
        if tx.payer_merchant_id is not None and self.settlement_progress is not None:
            self.settlement_progress(tx)

    def _notify(self, tx: Transaction, status: Status) -> None:
        """Tell a user (a shop sees its settlements on their page) how it ended."""
        amount, bank = format_paise(tx.amount_paise), self.banks.get(tx.bank_code or "")
        bank_name = bank.name if bank else "your bank"
        kind, text = {
            Status.COMPLETED: (Notice.WITHDRAWAL_PAID,
                               f"{amount} sent to your {bank_name} account"),
            Status.FAILED: (Notice.WITHDRAWAL_FAILED,
                            f"{bank_name} refused your withdrawal of {amount}: the money is "
                            "back in your wallet"),
            Status.REVERSED: (Notice.WITHDRAWAL_RETURNED,
                              f"{bank_name} returned your withdrawal of {amount}: the money "
                              "is back in your wallet"),
        }[status]
        notify(self.db, tx.payer_user_id, kind, text, tx, now=self.clock())

    def _refund(self, tx: Transaction) -> None:
        if tx.ledger_entry_id is None:  # paid out means its entry was recorded
            raise ValueError(f"withdrawal {tx.id} has no payout entry to reverse")
        self.ledger.reverse(
            tx.ledger_entry_id, idempotency_key=codes.withdrawal_reversal_key(tx.id),
            memo=f"Returned by the bank: {tx.note}",
            metadata={"kind": "withdrawal_reversal", "transaction_id": tx.id})

    # ------------------------------------------------------ operator actions

    def _needs_review(self, transaction_id: int) -> tuple[Transaction, Withdrawal]:
        tx = self.db.scalar(select(Transaction).where(Transaction.id == transaction_id)
                            .with_for_update(of=Transaction, key_share=True))
        if tx is None or tx.kind != Kind.WITHDRAWAL:
            raise WalletError(f"no withdrawal {transaction_id}")
        if tx.status != Status.NEEDS_REVIEW:
            raise WalletError(f"withdrawal {transaction_id} is {tx.status}, not needs_review")
        return tx, payout_details(self.db, transaction_id)

    def _operator_note(self, tx: Transaction, what: AttemptOutcome,
                       detail: dict[str, object]) -> None:
        now = self.clock()
        self.db.add(PayoutAttempt(transaction_id=tx.id, kind=AttemptKind.OPERATOR, outcome=what,
                                  request=json.dumps(detail), started_at=now, finished_at=now))

    def operator_retry(self, transaction_id: int) -> None:
        """Put a needs_review withdrawal back in its user's queue with a fresh
        retry budget; the worker asks the bank's status before any resend.
        After commit, the task queue hears that the owner has payout work."""
        tx, wd = self._needs_review(transaction_id)
        self._operator_note(tx, AttemptOutcome.RETRY, {})
        tx.status, tx.updated_at = Status.QUEUED, self.clock()
        wd.next_attempt_at, wd.failure_reason = None, ""
        self._payouts_due_after_commit(Owner.payer_of(tx))

    def operator_resolve(self, transaction_id: int, paid: bool,
                         bank_word: PayoutWord | None) -> Settled:
        """Settle a needs_review withdrawal by hand, but never against the bank's
        word: ``bank_word`` is what its status API says right now (None: it
        has no such payout)."""
        tx, _ = self._needs_review(transaction_id)
        bank_status = None if bank_word is None else bank_word.said
        bank_outcome = None if bank_word is None else bank_word.outcome
        bank_paid = bank_outcome in (PayoutAnswer.ACCEPTED, PayoutAnswer.REVERSED)
        if paid != bank_paid:
            raise WalletError(
                f"the bank says {bank_status or 'it has no such payout'}: refusing to mark "
                f"withdrawal {transaction_id} as {'paid' if paid else 'not paid'}")
        self._operator_note(tx, AttemptOutcome.RESOLVED, {"paid": paid, "bank_status": bank_status})
        outcome = bank_outcome if paid and bank_outcome is not None else PayoutAnswer.REJECTED
        return self.settle(transaction_id, outcome, reason="resolved by an operator",
                           source="operator")

    def settle_by_reference(self, reference: str, outcome: PayoutAnswer, *, bank_code: str,
                            amount_paise: int, currency: str, source: str,
                            reason: str = "") -> Settled:
        """A bank report about a payout (webhook): unknown / mismatch / what settle
        says. Only the bank that made the payout can report on it."""
        transaction_id = codes.parse_payout_reference(reference)
        tx = self.db.get(Transaction, transaction_id) if transaction_id is not None else None
        if tx is None or tx.kind != Kind.WITHDRAWAL or tx.bank_code != bank_code:
            return Settled.UNKNOWN_REFERENCE
        if tx.amount_paise != amount_paise or currency != CURRENCY:
            tx.flag_reason = (f"{source} reported {amount_paise} {currency} for a payout of "
                              f"{tx.amount_paise} {CURRENCY}")
            return Settled.MISMATCH
        return self.settle(tx.id, outcome, reason=reason, source=source)


