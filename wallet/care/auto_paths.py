"""What the automatic checks conclude about one ticket (wallet.care.auto_resolve
runs them): each path returns a :class:`Verdict` -- the findings the user
reads on the ticket's timeline and the status it moves to, with the reason.

Every path runs under the ticket's row lock (level 4), and locks after it only
what its own service locks (a deposit, a withdrawal, the payment refunded,
the transfer reversed: level 4 too, always after the ticket). Money is moved
only through the services that own it (DepositService.settle,
WithdrawalService.settle, Refunds.refund, Reversals.reverse_transfer), each
in a savepoint, so a refusal leaves the finding and nothing else.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..banking.banks import BankConfig
from ..banking.deposits import GIVEN_UP, DepositService, final_word
from ..banking.protocols.base import DepositStatus, PayoutWord
from ..banking.withdrawals import WithdrawalService, payout_details
from ..core import codes
from ..core.codes import (
    IST,
    Kind,
    Settled,
    Status,
    TicketCategory,
    TicketStatus,
    TransferHoldStatus,
)
from ..core.errors import WalletError
from ..core.models import Merchant, Transaction, User
from ..merchants.refunds import Refunds
from ..money.errors import InsufficientBalance
from ..money.models import TransferHold
from .errors import ReversalNotCovered
from .models import Ticket
from .reversals import Reversals
from .tickets import Tickets

__all__ = ["Ask", "BankAnswer", "CareServices", "Verdict", "decide", "what_to_ask"]

C = TicketCategory
#: "It has not arrived" in the user's words: the categories whose answer a
#: bank or our own records can give.
LATE = (C.NOT_RECEIVED, C.PENDING_TOO_LONG)
#: A transfer to a wallet that no longer exists is put back for these.
CLOSED_WALLET = (C.NOT_RECEIVED, C.PENDING_TOO_LONG, C.WRONG_PERSON)
SOURCE = "ticket check (bank status API)"


class CareServices(Protocol):
    """What the paths use, on the transaction's session (wallet.services.Services)."""

    @property
    def tickets(self) -> Tickets: ...

    @property
    def deposits(self) -> DepositService: ...

    @property
    def withdrawals(self) -> WithdrawalService: ...

    @property
    def refunds(self) -> Refunds: ...

    @property
    def reversals(self) -> Reversals: ...


@dataclass(frozen=True)
class Ask:
    """The bank to ask, before any lock: a deposit's or a payout's status."""

    kind: Kind  # DEPOSIT or WITHDRAWAL
    transaction_id: int
    bank_code: str
    reference: str
    amount_paise: int
    created_at: dt.datetime


@dataclass(frozen=True)
class BankAnswer:
    """What the bank said (``reached`` False: it could not be asked)."""

    reached: bool
    deposit: DepositStatus | None = None
    payout: PayoutWord | None = None


@dataclass(frozen=True)
class Verdict:
    findings: tuple[str, ...]
    #: None: nothing for the checks to say (a person looks, as for any ticket).
    status: TicketStatus | None = None
    reason: str = ""


@dataclass(frozen=True)
class Context:
    db: Session
    services: CareServices
    ticket: Ticket
    banks: Mapping[str, BankConfig]
    now: dt.datetime
    twin_window: dt.timedelta
    deposit_expire_after: dt.timedelta


NOTHING = Verdict(())


def when(moment: dt.datetime | None) -> str:
    """A moment as the user reads it (India time)."""
    if moment is None:
        return "an unknown time"
    local = moment.astimezone(IST)
    return f"{local.day} {local:%b %Y}, {local:%I}".replace(", 0", ", ") + f":{local:%M %p} IST"


def _investigating(ctx: Context, *findings: str) -> Verdict:
    return Verdict(findings, TicketStatus.INVESTIGATING,
                   f"An agent will look at it by {when(ctx.ticket.due_at)}.")


def _resolved(finding: str, reason: str) -> Verdict:
    return Verdict((finding,), TicketStatus.RESOLVED, reason)


def what_to_ask(ticket: Ticket, tx: Transaction, banks: Mapping[str, BankConfig]) -> Ask | None:
    """The bank call the ticket's answer needs (made with no transaction open)."""
    if ticket.category not in LATE or tx.bank_code not in banks or tx.bank_code is None:
        return None
    if (tx.kind == Kind.DEPOSIT and tx.payee_user_id == ticket.user_id and tx.token
            and (tx.status == Status.PENDING
                 or (tx.status == Status.FAILED and tx.status_reason in GIVEN_UP))):
        return Ask(Kind.DEPOSIT, tx.id, tx.bank_code, tx.token, tx.amount_paise, tx.created_at)
    if (tx.kind == Kind.WITHDRAWAL and tx.payer_user_id == ticket.user_id
            and tx.status in (*Status.PAYOUT_IN_FLIGHT, Status.COMPLETED)):
        return Ask(Kind.WITHDRAWAL, tx.id, tx.bank_code, codes.payout_reference(tx.id),
                   tx.amount_paise, tx.created_at)
    return None


def decide(ctx: Context, ask: Ask | None, answer: BankAnswer | None) -> Verdict:
    """The ticket's verdict (the ticket locked and still open)."""
    if ask is not None and answer is not None:
        if ask.kind == Kind.DEPOSIT:
            return _deposit_asked(ctx, ask, answer)
        return _payout_asked(ctx, ask, answer)
    tx = ctx.db.get(Transaction, ctx.ticket.transaction_id)
    assert tx is not None  # (a foreign key)
    category, mine = ctx.ticket.category, ctx.ticket.user_id
    if tx.kind == Kind.TRANSFER and tx.status == Status.PENDING:
        return _held_transfer(ctx, tx)
    if tx.kind in (Kind.TRANSFER, Kind.PAYMENT) and tx.payer_user_id == mine:
        if tx.status != Status.COMPLETED:
            return NOTHING
        if category == C.PAID_TWICE:
            return _twin(ctx, tx)
        payee = ctx.db.get(User, tx.payee_user_id) if tx.payee_user_id else None
        if payee is not None and not payee.is_active and category in CLOSED_WALLET:
            return _closed_wallet(ctx, tx, payee)
        if category in LATE:
            return _investigating(ctx, f"Completed at {when(tx.created_at)}: "
                                  f"{format_paise(tx.amount_paise)} is in {_payee_name(ctx, tx)}'s "
                                  f"wallet (transaction #{tx.id}); it reached it at once.")
        return NOTHING
    if category not in LATE:
        return NOTHING
    return _settled_already(ctx, tx)


def _held_transfer(ctx: Context, tx: Transaction) -> Verdict:
    """A first payment to someone new, held for its undo window
    (wallet.money.transfer_holds): it lands by itself at ``lands_at``."""
    window = ctx.db.scalars(select(TransferHold).where(
        TransferHold.transaction_id == tx.id)).first()
    if window is None or window.status != TransferHoldStatus.PENDING:
        return NOTHING
    at = when(window.lands_at)
    undo = "; until then you can undo it" if tx.payer_user_id == ctx.ticket.user_id else ""
    return _resolved(f"This first payment to someone new is held until {at}: it reaches "
                     f"{_payee_name(ctx, tx)}'s wallet by itself then{undo}.",
                     f"It lands at {at}.")


def _settled_already(ctx: Context, tx: Transaction) -> Verdict:
    """Money that came to the user's own wallet, or went back to it: they can see it."""
    amount, mine = format_paise(tx.amount_paise), ctx.ticket.user_id
    credited = (tx.kind in (Kind.DEPOSIT, Kind.TRANSFER, Kind.REFUND, Kind.ADJUSTMENT)
                and tx.payee_user_id == mine
                and tx.status in (Status.COMPLETED, Status.SUCCESS))
    if credited:
        return _resolved(f"Completed at {when(tx.settled_at or tx.created_at)}: {amount} was "
                         f"added to your wallet (transaction #{tx.id}).",
                         f"{amount} is in your wallet.")
    if tx.kind == Kind.DEPOSIT and tx.payee_user_id == mine and tx.status == Status.FAILED:
        return _deposit_failed(ctx, tx, tx.status_reason or "declined by the bank")
    if (tx.kind == Kind.WITHDRAWAL and tx.payer_user_id == mine
            and tx.status in (Status.FAILED, Status.REVERSED)):
        return _payout_back(ctx, tx)
    return NOTHING


# ------------------------------------------------------------------- deposits


def _bank_name(ctx: Context, bank_code: str | None) -> str:
    bank = ctx.banks.get(bank_code or "")
    return bank.name if bank is not None else "your bank"


def _deposit_asked(ctx: Context, ask: Ask, answer: BankAnswer) -> Verdict:
    name, amount = _bank_name(ctx, ask.bank_code), format_paise(ask.amount_paise)
    if not answer.reached:
        return _investigating(ctx, f"We could not reach {name} just now to ask about your "
                                   f"deposit of {amount}.")
    word = final_word(answer.deposit, ask.created_at, ctx.now - ctx.deposit_expire_after,
                      ask.amount_paise)
    if word is None:
        return _investigating(ctx, f"We asked {name}: it has no final answer yet on your "
                                   f"deposit of {amount}.")
    with ctx.db.begin_nested():
        result = ctx.services.deposits.settle(
            ask.reference, word.outcome, bank_code=ask.bank_code,
            amount_paise=word.amount_paise, currency=word.currency, source=SOURCE,
            reason=word.reason)
    tx = result.transaction
    if tx is None or result.verdict not in (Settled.CREDITED, Settled.FAILED,
                                            Settled.ALREADY_SETTLED):
        return _investigating(ctx, f"{name}'s answer about your deposit of {amount} does not "
                                   f"match our records.")
    if tx.status == Status.SUCCESS:
        return _resolved(f"We asked {name}: your deposit went through, and {amount} was added "
                         f"to your wallet at {when(tx.settled_at)}.",
                         f"{amount} was added to your wallet.")
    return _deposit_failed(ctx, tx, tx.status_reason or word.reason or "declined by the bank",
                           asked=True)


def _deposit_failed(ctx: Context, tx: Transaction, why: str, asked: bool = False) -> Verdict:
    name, amount = _bank_name(ctx, tx.bank_code), format_paise(tx.amount_paise)
    said = f"We asked {name}: the" if asked else "The"
    return _resolved(f"{said} deposit of {amount} failed ({why}); nothing was added to your "
                     f"wallet. If the money left your bank account, {name} returns it to you.",
                     f"The deposit failed at {name}: nothing was added to your wallet, and "
                     f"{name} returns any money it took.")


# ---------------------------------------------------------------- withdrawals


def _payout_asked(ctx: Context, ask: Ask, answer: BankAnswer) -> Verdict:
    name, amount = _bank_name(ctx, ask.bank_code), format_paise(ask.amount_paise)
    if not answer.reached:
        return _investigating(ctx, f"We could not reach {name} just now to ask about your "
                                   f"withdrawal of {amount}.")
    word = answer.payout
    if word is None or word.outcome is None:
        said = "has no record of it yet" if word is None else f"says it is {word.said}"
        return _investigating(ctx, f"We asked {name} about your withdrawal of {amount} "
                                   f"(reference {ask.reference}): it {said}.")
    with ctx.db.begin_nested():
        settled = ctx.services.withdrawals.settle(ask.transaction_id, word.outcome,
                                                  reason=word.reason, source=SOURCE)
    tx = ctx.db.get(Transaction, ask.transaction_id)
    assert tx is not None
    if settled == Settled.CONTRADICTION or tx.status not in (
            Status.COMPLETED, Status.FAILED, Status.REVERSED):
        return _investigating(ctx, f"{name}'s answer about your withdrawal of {amount} does "
                                   f"not match our records.")
    if tx.status == Status.COMPLETED:
        account = payout_details(ctx.db, tx.id).account_number[-4:]
        return _resolved(f"We asked {name}: it paid {amount} to your account ••{account} at "
                         f"{when(tx.settled_at)}, reference {ask.reference}. If you do not "
                         f"see it, give your bank this reference.",
                         f"Paid to your bank account (reference {ask.reference}).")
    return _payout_back(ctx, tx, asked=True)


def _payout_back(ctx: Context, tx: Transaction, asked: bool = False) -> Verdict:
    name, amount = _bank_name(ctx, tx.bank_code), format_paise(tx.amount_paise)
    why = payout_details(ctx.db, tx.id).failure_reason or "no reason given"
    did = "refused it" if tx.status == Status.FAILED else "paid it, then returned it"
    said = f"We asked {name}: it" if asked else name
    return _resolved(f"{said} {did} ({why}): {amount} is back in your wallet.",
                     f"{amount} is back in your wallet.")


# ------------------------------------------------------- transfers, payments


def _payee_name(ctx: Context, tx: Transaction) -> str:
    if tx.payee_merchant_id is not None:
        shop = ctx.db.get(Merchant, tx.payee_merchant_id)
        return shop.name if shop is not None else "the shop"
    payee = ctx.db.get(User, tx.payee_user_id) if tx.payee_user_id else None
    return payee.name if payee is not None else "the recipient"


def twins_of(db: Session, tx: Transaction, window: dt.timedelta) -> list[Transaction]:
    """``tx`` and its twins, oldest first: completed, same kind, payer, payee
    and amount, another request key, within ``window`` of it."""
    payee = (Transaction.payee_merchant_id == tx.payee_merchant_id
             if tx.payee_merchant_id is not None
             else Transaction.payee_user_id == tx.payee_user_id)
    twins = db.scalars(select(Transaction).where(
        Transaction.kind == tx.kind, Transaction.status == Status.COMPLETED,
        Transaction.payer_user_id == tx.payer_user_id, payee,
        Transaction.amount_paise == tx.amount_paise, Transaction.id != tx.id,
        Transaction.idempotency_key != tx.idempotency_key,
        Transaction.created_at >= tx.created_at - window,
        Transaction.created_at <= tx.created_at + window))
    return sorted([tx, *twins], key=lambda t: (t.created_at, t.id))


def _twin(ctx: Context, tx: Transaction) -> Verdict:
    group = twins_of(ctx.db, tx, ctx.twin_window)
    name, amount = _payee_name(ctx, tx), format_paise(tx.amount_paise)
    minutes = round(ctx.twin_window.total_seconds() / 60)
    if len(group) == 1:
        return _investigating(ctx, f"We found one payment only: {amount} to {name} at "
                                   f"{when(tx.created_at)}, and no other of the same amount to "
                                   f"{name} within {minutes} minutes of it.")
    first, second = group[0], group[-1]  # always the latest: one put back, whoever reports
    found = (f"We found two payments of {amount} to {name}: #{first.id} at "
             f"{when(first.created_at)} and #{second.id} at {when(second.created_at)}.")
    if second.kind == Kind.PAYMENT:
        return _refund_twin(ctx, second, found, name, amount)
    return _reverse(ctx, second, found, f"paid twice: transfer #{first.id} is the same",
                    f"We put {amount} of #{second.id} back in your wallet.",
                    f"{amount} paid twice is back in your wallet.")


def twin_refund_key(payment_id: int) -> str:
    """The shop's refund of a twin payment: one per payment, whichever ticket
    (about either twin) finds it."""
    return f"ticket-twin-{payment_id:010d}"


def _refund_twin(ctx: Context, payment: Transaction, found: str, name: str,
                 amount: str) -> Verdict:
    shop = ctx.db.get(Merchant, payment.payee_merchant_id)
    assert shop is not None
    key = twin_refund_key(payment.id)
    refunds = ctx.services.refunds
    done = ctx.db.scalar(select(Transaction.id).where(
        Transaction.idempotency_key == codes.refund_key(shop.id, key)))
    left = payment.amount_paise - refunds.refunded_paise(payment.id)
    if done is None and left > 0:
        try:
            with ctx.db.begin_nested():
                refunds.refund(shop, payment.id, left, key,
                               reason=f"Paid twice: refunded for ticket {ctx.ticket.public_id}")
        except InsufficientBalance:
            return _investigating(ctx, found, f"{name}'s wallet cannot cover the refund right "
                                              f"now, so we could not refund #{payment.id} "
                                              f"automatically.")
        except WalletError:
            return _investigating(ctx, found, f"We could not refund #{payment.id} "
                                              "automatically.")
    return Verdict((found, f"{name} refunded {amount} of #{payment.id} to your wallet."),
                   TicketStatus.RESOLVED, f"{amount} paid twice is back in your wallet.")


def _closed_wallet(ctx: Context, tx: Transaction, payee: User) -> Verdict:
    amount = format_paise(tx.amount_paise)
    return _reverse(ctx, tx, f"{payee.name}'s wallet is closed: nobody can use the "
                             f"{amount} you sent at {when(tx.created_at)}.",
                    "the recipient's wallet is closed",
                    f"We put {amount} back in your wallet.",
                    f"The recipient's wallet is closed: {amount} is back in your wallet.")


def _reverse(ctx: Context, tx: Transaction, found: str, why: str, done: str,
             reason: str) -> Verdict:
    try:
        with ctx.db.begin_nested():
            ctx.services.reversals.reverse_transfer(tx.id, why)
    except ReversalNotCovered:
        return _investigating(ctx, found, f"{_payee_name(ctx, tx)} no longer has it all in "
                                          "their wallet, so we could not put it back "
                                          "automatically.")
    except WalletError:
        return _investigating(ctx, found, "We could not put it back automatically.")
    return Verdict((found, done), TicketStatus.RESOLVED, reason)

