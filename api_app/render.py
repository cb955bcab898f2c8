"""What the API says about the wallet's objects: JSON shapes of the OpenAPI
document's schemas (api_app/openapi.yaml), amounts as integer paise plus a
display string."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ledgerlib import Balance, format_paise
from wallet.banking.banks import BankConfig
from wallet.banking.models import PayoutAttempt, Withdrawal
from wallet.core.models import Merchant, MerchantStore, Transaction, User
from wallet.identity.models import ApiToken
from wallet.merchants.mandate_rules import ist_day
from wallet.merchants.models import (
    Dispute,
    Mandate,
    MandateDebit,
    PaymentLink,
    PaymentRequest,
    Refund,
)
from wallet.merchants.stores import StoreRef
from wallet.money.activity import ActivityItem
from wallet.money.models import PaymentSchedule, ScheduleRun
from wallet.money.money_requests import RequestView
from wallet.money.receipts import IssuedReceipt
from wallet.money.schedules import Payee
from wallet.money.splits import SplitView
from wallet.money.statements import Statement

Json = dict[str, Any]


def money(amount_paise: int) -> Json:
    return {"amount_paise": amount_paise, "display": format_paise(amount_paise)}


def moment(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.timezone.utc).isoformat()


def token(record: ApiToken, *, current_id: int | None = None) -> Json:
    shown: Json = {"id": record.id, "device_name": record.device_name, "prefix": record.prefix,
                   "created_at": moment(record.created_at),
                   "last_used_at": moment(record.last_used_at),
                   "expires_at": moment(record.expires_at)}
    if current_id is not None:
        shown["current"] = record.id == current_id
    return shown


def balance(value: Balance) -> Json:
    return {"posted": money(value.posted_paise), "held": money(value.held_paise),
            "available": money(value.available_paise)}


def me(user: User, value: Balance) -> Json:
    return {"id": user.id, "name": user.name, "phone": user.phone, "balance": balance(value)}


def bank(config: BankConfig) -> Json:
    return {"code": config.code, "name": config.name}


def activity(item: ActivityItem) -> Json:
    tx = item.transaction
    return {"id": tx.id, "kind": tx.kind, "status": tx.status, "direction": item.direction,
            "amount": money(item.amount_paise), "counterparty": item.counterparty,
            "note": tx.note, "created_at": moment(tx.created_at),
            "settled_at": moment(tx.settled_at)}


def deposit(tx: Transaction, netbanking_url: str | None = None) -> Json:
    shown: Json = {"reference": tx.token, "status": tx.status, "amount": money(tx.amount_paise),
                   "bank": tx.bank_code, "created_at": moment(tx.created_at),
                   "settled_at": moment(tx.settled_at)}
    if netbanking_url is not None:
        shown["netbanking_url"] = netbanking_url
    return shown


def withdrawal(tx: Transaction, wd: Withdrawal, attempts: list[PayoutAttempt]) -> Json:
    last = attempts[-1] if attempts else None
    return {"id": tx.id, "status": tx.status, "amount": money(tx.amount_paise),
            "bank": tx.bank_code, "account": wd.masked_account, "ifsc": wd.ifsc,
            "failure_reason": wd.failure_reason or "", "created_at": moment(tx.created_at),
            "settled_at": moment(tx.settled_at),
            "attempts": {"count": len(attempts), "last_kind": last.kind if last else None,
                         "last_outcome": last.outcome if last else None,
                         "last_at": moment(last.started_at) if last else None}}


def payment_request(request: PaymentRequest, *, checkout_url: str,
                    refunded_paise: int, store: StoreRef | None) -> Json:
    return {"id": request.public_id, "order_reference": request.order_reference,
            "amount": money(request.amount_paise), "description": request.description,
            "status": request.status, "checkout_url": checkout_url,
            "return_url": request.return_url, "expires_at": moment(request.expires_at),
            "created_at": moment(request.created_at), "paid_at": moment(request.paid_at),
            "refunded_paise": refunded_paise, "store": store_of(store),
            "livemode": request.livemode}


def refund(record: Refund, *, payment_request_id: str, store: StoreRef | None) -> Json:
    return {"id": record.public_id, "payment_request_id": payment_request_id,
            "amount": money(record.amount_paise), "reason": record.reason,
            "created_at": moment(record.created_at), "store": store_of(store),
            "livemode": record.livemode}


def mandate(record: Mandate, *, approval_url: str) -> Json:
    return {"id": record.public_id, "status": record.status,
            "max_amount": money(record.max_amount_paise), "frequency": record.frequency,
            "start_date": ist_day(record.starts_at).isoformat(),
            "end_date": (ist_day(record.ends_at) - dt.timedelta(days=1)).isoformat(),
            "description": record.description, "approval_url": approval_url,
            "created_at": moment(record.created_at), "approved_at": moment(record.approved_at),
            "revoked_at": moment(record.revoked_at), "livemode": record.livemode}


def mandate_debit(record: MandateDebit, *, mandate_id: str,
                  livemode: bool | None = None) -> Json:
    """A debit; for the shop with ``livemode`` (its mandate's mode)."""
    shown: Json = {"id": record.public_id, "mandate_id": mandate_id,
                   "amount": money(record.amount_paise),
                   "status": record.status, "execute_at": moment(record.execute_at),
                   "executed_at": moment(record.executed_at),
                   "failure_code": record.failure_code or None,
                   "failure_reason": record.failure_reason or None,
                   "created_at": moment(record.created_at)}
    if livemode is not None:
        shown["livemode"] = livemode
    return shown


def statement(value: Statement) -> Json:
    return {
        "month": value.month.label, "name": value.holder_name, "phone": value.holder_phone,
        "from": moment(value.month.start), "until": moment(value.until),
        "opening_balance": money(value.opening_paise),
        "closing_balance": money(value.closing_paise),
        "money_in": money(value.money_in_paise), "money_out": money(value.money_out_paise),
        "lines": [{"posted_at": moment(line.posted_at), "reference": line.reference,
                   "description": line.kind, "counterparty": line.counterparty,
                   "note": line.note, "amount": money(line.change_paise),
                   "balance": money(line.balance_paise)} for line in value.lines],
    }


# --- Users' money requests and split bills (wallet.money.money_requests, splits).


def person(user: User) -> Json:
    return {"name": user.name, "phone": user.masked_phone}


def money_request(view: RequestView, viewer: User) -> Json:
    request = view.request
    return {"id": request.public_id, "status": view.status, "amount": money(request.amount_paise),
            "note": request.note,
            "direction": "incoming" if request.payer_user_id == viewer.id else "outgoing",
            "requester": person(view.requester), "payer": person(view.payer),
            "first_time": view.first_time, "split_id": view.split_public_id,
            "transaction_id": request.transaction_id,
            "expires_at": moment(request.expires_at), "created_at": moment(request.created_at),
            "closed_at": moment(request.closed_at)}


def split(view: SplitView, viewer: User) -> Json:
    value = view.split
    return {"id": value.public_id, "title": value.title, "mode": value.mode,
            "status": value.status, "creator": person(view.creator),
            "total": money(value.total_paise), "creator_share": money(value.creator_share_paise),
            "paid": money(view.paid_paise), "outstanding": money(view.outstanding_paise),
            "shares": [money_request(share, viewer) for share in view.shares],
            "created_at": moment(value.created_at), "closed_at": moment(value.closed_at),
            "reminded_at": moment(value.reminded_at)}


def schedule_run(run: ScheduleRun) -> Json:
    return {"number": run.run_number, "date": run.due_date.isoformat(),
            "due_at": moment(run.attempt_at), "status": run.status, "attempts": run.attempts,
            "failure_reason": run.failure_reason, "transaction_id": run.transaction_id}


def schedule(value: PaymentSchedule, payee: Payee, next_run: ScheduleRun | None,
             runs: list[ScheduleRun]) -> Json:
    return {"id": value.public_id,
            "payee": {"type": "user" if payee.user is not None else "shop", "name": payee.name},
            "amount": money(value.amount_paise), "note": value.note,
            "frequency": value.frequency, "start_date": value.start_date.isoformat(),
            "end_date": None if value.end_date is None else value.end_date.isoformat(),
            "count": value.max_runs, "status": value.status,
            "created_at": moment(value.created_at),
            "next_run": None if next_run is None else schedule_run(next_run),
            "runs": [schedule_run(run) for run in runs]}


# --- AutoPay for the customer (a user's token: api_app.views.autopay).


def autopay_debit(record: MandateDebit, *, mandate_id: str) -> Json:
    """A debit as its customer sees it: the shop's view and the payment."""
    return {**mandate_debit(record, mandate_id=mandate_id),
            "transaction_id": record.transaction_id}


def autopay_mandate(record: Mandate, shop: Merchant, open_debits: list[MandateDebit]) -> Json:
    """A mandate as its customer sees it: the shop from our records, the
    limits, and the debits not yet executed (each may still be stopped)."""
    shown = mandate(record, approval_url="")
    del shown["approval_url"]  # (the shop's; the customer approves here)
    del shown["livemode"]  # (the shop's: a customer's mandates are all live)
    return {**shown, "shop": {"handle": shop.handle, "name": shop.name},
            "open_debits": [autopay_debit(debit, mandate_id=record.public_id)
                            for debit in open_debits]}


def dispute(record: Dispute, *, payment_request_id: str | None,
            store: StoreRef | None) -> Json:
    return {"id": record.public_id, "status": record.status, "reason": record.reason,
            "store": store_of(store),
            "payment_id": record.payment_transaction_id,
            "payment_request_id": payment_request_id,
            "disputed": money(record.disputed_paise), "held": money(record.held_paise),
            "respond_by": moment(record.respond_by), "evidence": record.evidence,
            "created_at": moment(record.created_at),
            "responded_at": moment(record.responded_at), "decided_at": moment(record.decided_at),
            "livemode": True}  # (disputes are live-only: wallet.merchants.modes)


def receipt(value: IssuedReceipt | None) -> Json | None:
    """A payment's signed receipt (docs/receipts.md), or None."""
    if value is None:
        return None
    return {"text": value.text, "summary": value.facts.summary(),
            "reference": value.facts.reference, "key_id": value.facts.key_id}


def store_of(value: StoreRef | None) -> Json | None:
    """The store a payment, refund or dispute names (wallet.merchants.stores)."""
    return None if value is None else value.as_dict()


def store(record: MerchantStore, *, pay_url: str) -> Json:
    return {"id": record.id, "name": record.name, "handle": record.handle,
            "status": "open" if record.closed_at is None else "closed", "pay_url": pay_url,
            "created_at": moment(record.created_at), "closed_at": moment(record.closed_at)}


def payment_link(link: PaymentLink, *, status: str, url: str,
                 payments: list[Json] | None = None) -> Json:
    """A shop's payment link (its status now: an active one past its expiry
    reads expired); ``payments`` only when one link is read."""
    shown: Json = {
        "id": link.public_id, "url": url, "status": status, "amount_mode": link.amount_mode,
        "amount": None if link.amount_paise is None else money(link.amount_paise),
        "min_amount": None if link.min_paise is None else money(link.min_paise),
        "max_amount": None if link.max_paise is None else money(link.max_paise),
        "description": link.description, "reference": link.reference,
        "single_use": link.single_use, "uses_count": link.uses_count,
        "paid": money(link.paid_paise), "livemode": link.livemode,
        "expires_at": moment(link.expires_at), "created_at": moment(link.created_at)}
    if payments is not None:
        shown["payments"] = payments
    return shown


def link_payment(request: PaymentRequest) -> Json:
    """One payment through a link: the payment request that paid it (refund
    it at /v1/payment_requests/{id}/refunds)."""
    return {"payment_request_id": request.public_id, "amount": money(request.amount_paise),
            "paid_at": moment(request.paid_at), "payment_id": request.transaction_id}
