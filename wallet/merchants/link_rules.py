"""A payment link's rules that its payment and its own service share: its
status now, its refusals' words, its row lock, a payment counted on it, its
webhook data. Paying is PaymentRequests.pay (the checkout's one rule), which
calls :func:`claim` and :func:`count_payment` for a request made by a link;
making and managing links is wallet.merchants.payment_links."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.codes import LinkStatus
from .errors import LinkNotFound, LinkNotPayable
from .models import PaymentLink, PaymentRequest

#: Why a link takes no payment, in the customer's words.
REFUSED: dict[str, str] = {
    LinkStatus.PAID: "This payment link has already been paid: nothing was paid.",
    LinkStatus.EXPIRED: "This payment link has expired: nothing was paid. Ask the shop for "
                        "a new one.",
    LinkStatus.CANCELLED: "The shop cancelled this payment link: nothing was paid.",
}


def status_of(link: PaymentLink, now: dt.datetime) -> str:
    """Its status now: an active link whose time is up reads as expired (the
    sweep, or the next payment's attempt, writes it down)."""
    if link.status == LinkStatus.ACTIVE and link.expires_at <= now:
        return LinkStatus.EXPIRED
    return link.status


def refuse_unless_active(link: PaymentLink, now: dt.datetime) -> None:
    status = status_of(link, now)
    if status != LinkStatus.ACTIVE:
        raise LinkNotPayable(REFUSED.get(status, "This payment link takes no payments."))


def locked(db: Session, link_id: int) -> PaymentLink:
    """The link's row under ``FOR NO KEY UPDATE`` (lock order 4a: after the
    payment request that names it), as its last holder committed it."""
    link = db.scalar(select(PaymentLink).where(PaymentLink.id == link_id)
                     .with_for_update(key_share=True)
                     .execution_options(populate_existing=True))
    if link is None:
        raise LinkNotFound("No such payment link.")
    return link


def count_payment(link: PaymentLink, request: PaymentRequest, now: dt.datetime) -> None:
    """A payment of ``request`` made through ``link`` (locked): counted, and a
    single-use link is paid for good."""
    link.uses_count += 1
    link.paid_paise += request.amount_paise
    link.updated_at = now
    if link.single_use:
        link.status = LinkStatus.PAID


def event_data(link: PaymentLink, request: PaymentRequest | None = None) -> dict[str, object]:
    """A ``payment_link.*`` webhook's data: the link and, for a payment, the
    payment request that paid it (refund it as any payment request)."""
    data: dict[str, object] = {
        "id": link.public_id, "reference": link.reference, "status": link.status,
        "uses_count": link.uses_count, "paid_paise": link.paid_paise}
    if request is not None:
        data.update({"payment_request_id": request.public_id,
                     "amount_paise": request.amount_paise,
                     "paid_at": request.paid_at.isoformat() if request.paid_at else None})
    return data
