"""Jinja2 set-up: filters for money and Indian time, shared page globals."""
from __future__ import annotations

import datetime as dt

from pyramid.config import Configurator

from wallet.banking.deposits import CANCELLED_BY_USER
from wallet.core.codes import IST, Kind, Status
from wallet.core.models import Transaction
from wallet.money.transfer_holds import CANCELLED_BY_SENDER
from webcommon.templates import use_templates

#: How a transaction's kind reads in a user's history (others: capitalised).
KIND_LABELS: dict[str, str] = {Kind.REFUND: "Refund from shop"}


def ist(moment: dt.datetime, fmt: str = "%d %b %Y, %I:%M %p") -> str:
    return moment.astimezone(IST).strftime(fmt) + " IST"


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.capitalize())


#: How a status looks: settled, pending (money may still move) or failed/returned
#: (nothing moved, or it came back): amounts of the last two are not money in hand.
STATES: dict[str, str] = {
    Status.SUCCESS: "settled", Status.COMPLETED: "settled", Status.PENDING: "pending",
    Status.QUEUED: "pending", Status.SENDING: "pending", Status.NEEDS_REVIEW: "pending",
    Status.FAILED: "failed", Status.REVERSED: "returned"}
STATUS_WORDS: dict[str, str] = {Status.SUCCESS: "Added", Status.NEEDS_REVIEW: "Being checked",
                Status.REVERSED: "Returned", Status.SENDING: "On its way"}


def state(status: str) -> str:
    return STATES.get(status, "pending")


def status_word(tx: Transaction) -> str:
    """The label of a transaction's status, in words (a deposit the user gave
    up on reads "Cancelled", not "Failed")."""
    if tx.status == Status.FAILED and tx.status_reason in (CANCELLED_BY_USER,
                                                           CANCELLED_BY_SENDER):
        return "Cancelled"
    if tx.status == Status.FAILED and tx.kind == Kind.DEPOSIT:
        return "Declined"
    return STATUS_WORDS.get(tx.status, tx.status.replace("_", " ").capitalize())


def includeme(config: Configurator) -> None:
    use_templates(config, "webapp:templates", {
        "ist": ist, "kind_label": kind_label, "state": state, "status_word": status_word})
