"""The names the wallet gives things, each built and parsed in this one module:
ledger account codes, idempotency keys, the payout reference banks know us
by, and the vocabularies of kinds and statuses (which the database's CHECK
constraints repeat, frozen in their migrations).

Kinds, statuses and outcomes are ``enum.StrEnum`` members: typed in the code
(a status is a ``Status``, never a bare string), yet each *is* its stored
string, so ``String`` columns, templates, JSON and drivers take it as it is.
Each ``ALL`` (and a grouping such as ``Status.PAYOUT_OPEN``) is a tuple of the
values, not a member (``enum.nonmember``); tests/domain/test_codes_enums.py checks
every ``ALL`` against the members.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from enum import StrEnum, nonmember
from typing import Final
from zoneinfo import ZoneInfo

#: India's time zone: days and months of reports, statements and reconciliation.
IST_NAME: Final = "Asia/Kolkata"
IST: Final = ZoneInfo(IST_NAME)
CURRENCY: Final = "INR"


class KycLevel(StrEnum):
    """``users.kyc_level``: how much the wallet knows of its owner (wallet.identity.kyc),
    which sets its limits (wallet.money.limits)."""

    MINIMUM = "minimum"
    FULL = "full"
    ALL = nonmember(("minimum", "full"))


class Kind(StrEnum):
    """``transactions.kind``: what a user-visible money movement is."""

    TRANSFER = "transfer"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"  # a user's withdrawal or a merchant's settlement
    PAYMENT = "payment"
    REFUND = "refund"  # a shop gives (part of) a payment back
    ADJUSTMENT = "adjustment"
    ALL = nonmember(("transfer", "deposit", "withdrawal", "payment", "refund", "adjustment"))


class Status(StrEnum):
    """``transactions.status``. Transfers and payments are ``completed`` at once;
    deposits go ``pending`` -> ``success`` | ``failed``; withdrawals go
    ``queued`` -> ``sending`` -> ``completed`` | ``failed`` | ``needs_review``,
    and ``completed`` -> ``reversed``.

    Why a deposit ends ``success`` and a movement ``completed``: a deposit's
    final status is the bank's answer on it (:class:`DepositAnswer`, the word
    the bank pages and the API have always shown: "success"), while
    ``completed`` says the wallet finished moving money itself. The two are
    stored in rows, sent in the API's JSON and shown on pages; renaming one
    would need a data migration and break clients that match on it, so both
    stay, each with its one meaning.
    """

    PENDING = "pending"
    SUCCESS = "success"
    FAILED = "failed"
    COMPLETED = "completed"
    QUEUED = "queued"
    SENDING = "sending"
    REVERSED = "reversed"
    NEEDS_REVIEW = "needs_review"
    ALL = nonmember(("pending", "success", "failed", "completed", "queued", "sending",
                     "reversed", "needs_review"))
    #: A payout that a worker still drives.
    PAYOUT_OPEN = nonmember(("queued", "sending"))
    #: A payout whose money is still held (not yet paid nor given back).
    PAYOUT_IN_FLIGHT = nonmember(("queued", "sending", "needs_review"))
    WITHDRAWAL = nonmember(("queued", "sending", "completed", "failed", "reversed",
                            "needs_review"))


class RequestStatus(StrEnum):
    """``payment_requests.status``: created -> paid | expired | cancelled."""

    CREATED = "created"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ALL = nonmember(("created", "paid", "expired", "cancelled"))


class MoneyRequestStatus(StrEnum):
    """``money_requests.status``: a user asks another for money (wallet.money.money_requests):
    pending -> paid | declined | expired | cancelled."""

    PENDING = "pending"
    PAID = "paid"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ALL = nonmember(("pending", "paid", "declined", "expired", "cancelled"))


class SplitMode(StrEnum):
    """``splits.mode``: how a split bill's total is shared (wallet.money.splits)."""

    EQUAL = "equal"
    EXACT = "exact"
    SHARES = "shares"
    ALL = nonmember(("equal", "exact", "shares"))


class SplitStatus(StrEnum):
    """``splits.status``: open -> closed (by its creator; its pending requests cancelled)."""

    OPEN = "open"
    CLOSED = "closed"
    ALL = nonmember(("open", "closed"))


class Delivery(StrEnum):
    """``merchant_deliveries.status``: a webhook to a shop's server."""

    PENDING = "pending"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"  # retries spent, or its endpoint disabled
    ALL = nonmember(("pending", "delivered", "retrying", "failed"))


class Event(StrEnum):
    """``merchant_events.type``: events a shop's server can subscribe to."""

    PAYMENT_REQUEST_PAID = "payment_request.paid"
    PAYMENT_REQUEST_EXPIRED = "payment_request.expired"
    REFUND_SUCCEEDED = "refund.succeeded"
    # AutoPay mandates (wallet.merchants.mandates).
    MANDATE_APPROVED = "mandate.approved"
    MANDATE_PAUSED = "mandate.paused"
    MANDATE_RESUMED = "mandate.resumed"
    MANDATE_REVOKED = "mandate.revoked"
    MANDATE_DEBIT_SUCCEEDED = "mandate.debit.succeeded"
    MANDATE_DEBIT_FAILED = "mandate.debit.failed"
    # Disputes of shop payments (wallet.merchants.disputes).
    DISPUTE_OPENED = "dispute.opened"
    DISPUTE_ACCEPTED = "dispute.accepted"
    DISPUTE_CONTESTED = "dispute.contested"
    DISPUTE_WON = "dispute.won"
    DISPUTE_LOST = "dispute.lost"
    # Payment links (wallet.merchants.payment_links): each payment, and its expiry.
    PAYMENT_LINK_PAID = "payment_link.paid"
    PAYMENT_LINK_EXPIRED = "payment_link.expired"
    # A shop's settlement paid to its bank (wallet.banking.auto_settlement).
    SETTLEMENT_PROCESSED = "settlement.processed"
    ALL = nonmember(("payment_request.paid", "payment_request.expired", "refund.succeeded",
                     "mandate.approved", "mandate.paused", "mandate.resumed", "mandate.revoked",
                     "mandate.debit.succeeded", "mandate.debit.failed",
                     "dispute.opened", "dispute.accepted", "dispute.contested", "dispute.won",
                     "dispute.lost", "payment_link.paid", "payment_link.expired",
                     "settlement.processed"))


# ---------------------------------------------------- AutoPay mandates


class MandateStatus(StrEnum):
    """``mandates.status`` (wallet.merchants.mandates): created -> active
    (the customer approved it with the PIN) <-> paused; active | paused ->
    revoked (by the customer, for good)."""

    CREATED = "created"
    ACTIVE = "active"
    PAUSED = "paused"
    REVOKED = "revoked"
    ALL = nonmember(("created", "active", "paused", "revoked"))


class MandateFrequency(StrEnum):
    """``mandates.frequency``: at most one debit per period (India time), or
    any number ``as_presented``."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"
    AS_PRESENTED = "as_presented"
    ALL = nonmember(("daily", "weekly", "monthly", "yearly", "as_presented"))


class DebitStatus(StrEnum):
    """``mandate_debits.status``: scheduled (the customer notified) ->
    succeeded | failed | cancelled (the mandate paused or revoked first) |
    awaiting_pin (above the PIN cap) -> succeeded | failed | cancelled."""

    SCHEDULED = "scheduled"
    AWAITING_PIN = "awaiting_pin"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ALL = nonmember(("scheduled", "awaiting_pin", "succeeded", "failed", "cancelled"))
    #: Not yet executed: a pause or a revocation stops them.
    OPEN = nonmember(("scheduled", "awaiting_pin"))


class AttemptKind(StrEnum):
    """``payout_attempts.kind``: a call to a bank about a payout, or a note."""

    SEND = "send"
    STATUS = "status"
    OPERATOR = "operator"  # a note of an operator's action, not a bank call


class AttemptOutcome(StrEnum):
    """``payout_attempts.outcome``: what a call about a payout came to."""

    IN_PROGRESS = "in_progress"  # written before the call: has it reached the bank?
    ACCEPTED = "accepted"  # the bank's definite words (PayoutAnswer)
    REJECTED = "rejected"
    REVERSED = "reversed"
    NO_RECORD = "no_record"  # the bank's status API has never heard of it
    UNKNOWN = "unknown"  # timeout, 5xx, an unreadable answer
    RETRY = "retry"  # an operator put it back in the queue
    RESOLVED = "resolved"  # an operator settled it by hand


class PayoutAnswer(StrEnum):
    """A bank's definite word on a payout."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REVERSED = "reversed"  # paid, then returned by the bank
    ALL = nonmember(("accepted", "rejected", "reversed"))

    @property
    def status(self) -> Status:
        """The payout status it leads to."""
        return _PAYOUT_STATUS[self]

    @property
    def attempt_outcome(self) -> AttemptOutcome:
        return AttemptOutcome(self.value)


class DepositAnswer(StrEnum):
    """A bank's definite word on a deposit (our names; banks' vary)."""

    SUCCESS = "success"
    FAILED = "failed"
    ALL = nonmember(("success", "failed"))

    @property
    def status(self) -> Status:
        """The deposit status it leads to (the same word: see :class:`Status`)."""
        return _DEPOSIT_STATUS[self]


_PAYOUT_STATUS: Final = {PayoutAnswer.ACCEPTED: Status.COMPLETED,
                         PayoutAnswer.REJECTED: Status.FAILED,
                         PayoutAnswer.REVERSED: Status.REVERSED}
_DEPOSIT_STATUS: Final = {DepositAnswer.SUCCESS: Status.SUCCESS,
                          DepositAnswer.FAILED: Status.FAILED}


class Settled(StrEnum):
    """What a bank's definite word on a deposit or a payout did: one word per
    meaning, for both state machines (wallet.banking.deposits, withdrawals)."""

    CREDITED = "credited"  # a deposit: the wallet got the money
    COMPLETED = "completed"  # a payout: paid
    FAILED = "failed"  # a deposit declined, or a payout rejected (its money back)
    REVERSED = "reversed"  # a payout returned by the bank (its money back)
    ALREADY_SETTLED = "already_settled"  # it said what we knew: nothing changed
    CONTRADICTION = "contradiction"  # it contradicts a final status: flagged, not applied
    MISMATCH = "mismatch"  # amount or currency differ from ours: flagged, not applied
    UNKNOWN_REFERENCE = "unknown_reference"  # no such deposit or payout at that bank

    @property
    def applied(self) -> bool:
        """True when the word moved the deposit or payout to a final status."""
        return self in (Settled.CREDITED, Settled.COMPLETED, Settled.FAILED, Settled.REVERSED)


# Scheduled and recurring payments (wallet.money.schedules) ---------------


class ScheduleFrequency(StrEnum):
    """``payment_schedules.frequency``: once on a date, or every week or month."""

    ONCE = "once"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    ALL = nonmember(("once", "weekly", "monthly"))


class ScheduleStatus(StrEnum):
    """``payment_schedules.status``: active <-> paused; -> completed (no run
    left) | cancelled (by its payer)."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ALL = nonmember(("active", "paused", "completed", "cancelled"))
    #: A schedule whose runs may still come.
    LIVE = nonmember(("active", "paused"))


class RunStatus(StrEnum):
    """``schedule_runs.status``: one run of a schedule (docs/architecture.md,
    "State machines")."""

    SCHEDULED = "scheduled"  # waiting for its day (its notice sent before)
    RETRYING = "retrying"  # refused once: tried once more at ``attempt_at``
    AWAITING_PIN = "awaiting_pin"  # above the per-run cap: the payer confirms it
    COMPLETED = "completed"  # paid (its transaction)
    FAILED = "failed"  # refused (and its retry too, or none allowed)
    SKIPPED = "skipped"  # skipped by the payer, or missed while paused
    CANCELLED = "cancelled"  # its schedule was cancelled first
    ALL = nonmember(("scheduled", "retrying", "awaiting_pin", "completed", "failed",
                     "skipped", "cancelled"))
    #: The runs the sweep pays when due.
    DUE = nonmember(("scheduled", "retrying"))
    #: Not final: the payer may still skip it, the schedule's cancel ends it.
    OPEN = nonmember(("scheduled", "retrying", "awaiting_pin"))


class TicketCategory(StrEnum):
    """``tickets.category``: what a user says went wrong with a transaction
    (wallet.care.tickets); each has its own answer deadline (TicketPolicy)."""

    NOT_RECEIVED = "not_received"  # money debited but not received
    PENDING_TOO_LONG = "pending_too_long"
    WRONG_PERSON = "wrong_person"  # paid the wrong person
    PAID_TWICE = "paid_twice"
    NOT_AUTHORISED = "not_authorised"  # not authorised by me
    NOT_DELIVERED = "not_delivered"  # the shop did not deliver
    FRAUD = "fraud"  # "report fraud" on an outgoing payment
    ALL = nonmember(("not_received", "pending_too_long", "wrong_person", "paid_twice",
                     "not_authorised", "not_delivered", "fraud"))
    #: What a shop payment may be disputed for (wallet.merchants.disputes).
    DISPUTABLE = nonmember(("not_authorised", "not_delivered"))
    #: Money that left and did not arrive: late, it earns compensation.
    STUCK = nonmember(("not_received", "pending_too_long", "paid_twice"))


class TicketStatus(StrEnum):
    """``tickets.status``: open -> investigating -> resolved | rejected (an
    open ticket may be resolved or rejected at once)."""

    OPEN = "open"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    ALL = nonmember(("open", "investigating", "resolved", "rejected"))
    #: Still someone's work: not final.
    LIVE = nonmember(("open", "investigating"))
    FINAL = nonmember(("resolved", "rejected"))


class TicketEventKind(StrEnum):
    """``ticket_events.kind``: one line of a ticket's timeline."""

    OPENED = "opened"  # the user raised it
    STATUS = "status"  # its status changed (the line says why)
    FINDING = "finding"  # what the automatic checks found
    ACTION = "action"  # an operator's action (reverse, refund, escalate)
    COMPENSATION = "compensation"  # a day's compensation credited
    MESSAGE = "message"  # the user, the shop or the other party said something
    ALL = nonmember(("opened", "status", "finding", "action", "compensation", "message"))


class TicketActor(StrEnum):
    """``ticket_events.actor``: who wrote a line of a ticket's timeline."""

    USER = "user"  # who raised the ticket
    SYSTEM = "system"  # the automatic checks, sweeps and deadlines
    OPERATOR = "operator"  # support staff (``actor_id``: the operator)
    SHOP = "shop"  # the shop of a disputed payment
    COUNTERPARTY = "counterparty"  # the other person of the transaction (fraud reported)
    ALL = nonmember(("user", "system", "operator", "shop", "counterparty"))


# ------------------------------------------ disputes of shop payments


class DisputeStatus(StrEnum):
    """``disputes.status`` (wallet.merchants.disputes): open (awaiting the
    shop) -> accepted (the customer refunded) | contested (an operator
    decides) | lost (no answer by ``respond_by``: decided for the customer);
    contested -> won (the shop keeps the money) | lost (the customer refunded)."""

    OPEN = "open"
    ACCEPTED = "accepted"
    CONTESTED = "contested"
    WON = "won"
    LOST = "lost"
    ALL = nonmember(("open", "accepted", "contested", "won", "lost"))
    #: Not decided yet: the disputed money is held in the shop's wallet.
    UNRESOLVED = nonmember(("open", "contested"))


class DisputeReason(StrEnum):
    """``disputes.reason``: what the customer says went wrong."""

    NOT_DELIVERED = "not_delivered"  # "the shop did not deliver"
    NOT_AUTHORISED = "not_authorised"  # "not authorised by me"
    ALL = nonmember(("not_delivered", "not_authorised"))


# ------------------------------------------------------------ ledger accounts


def user_wallet(user_id: int) -> str:
    return f"user:{user_id}:wallet"


def merchant_wallet(merchant_id: int) -> str:
    return f"merchant:{merchant_id}:wallet"


#: The most receiving shards a shop may have (merchants.receiving_shards' CHECK).
MAX_RECEIVING_SHARDS: Final = 64


def merchant_receiving(merchant_id: int, shard: int) -> str:
    """One of a shop's receiving shards (wallet.money.shop_shards): shard 0 is
    its wallet account itself, shard k >= 1 ``merchant:<id>:wallet:<k>``."""
    base = merchant_wallet(merchant_id)
    return base if shard == 0 else f"{base}:{shard}"


def owner_ref(kind: str, owner_id: int) -> str:
    """"user:5" / "merchant:3": a wallet's owner, as the ledger and payout lanes name it."""
    return f"{kind}:{owner_id}"


def bank_settlement(bank_code: str, shard: int = 0) -> str:
    """Our money at a bank, where deposits come from and payouts go: one of
    the bank's settlement shards (wallet.banking.settlement). Shard 0 keeps the code of
    the single account of old, so its balance needs no migration."""
    base = f"bank:{bank_code}:settlement"
    return base if shard == 0 else f"{base}:{shard}"


_SETTLEMENT = re.compile(r"bank:([a-z][a-z0-9_]{1,30}):settlement(?::([1-9][0-9]{0,3}))?",
                         re.ASCII)
#: A LIKE pattern that finds every bank's settlement shards (parse with settlement_bank).
SETTLEMENT_LIKE: Final = "bank:%:settlement%"


def settlement_bank(code: str) -> str | None:
    """The bank whose settlement shard ``code`` is, or None if it is none."""
    match = _SETTLEMENT.fullmatch(code)
    return match.group(1) if match else None


WALLET_PREFIXES: Final = ("user:", "merchant:")

# -------------------------------------------------------- idempotency keys

#: The one-time token a money form (or an API call) carries:
#: secrets.token_urlsafe(16) -> 22 characters.
REQUEST_KEY: Final = re.compile(r"[A-Za-z0-9_-]{16,64}", re.ASCII)


def is_request_key(value: object) -> bool:
    return isinstance(value, str) and REQUEST_KEY.fullmatch(value) is not None


def request_key(purpose: str, account_id: int, key: str) -> str:
    """The idempotency key of a form submission: ``transfer:5:<token>``.
    ``purpose``: transfer, payment, deposit, withdrawal or settlement."""
    return f"{purpose}:{account_id}:{key}"


def onramp_key(deposit_token: str) -> str:
    """The ledger entry that credits a deposit."""
    return f"onramp:{deposit_token}"


def refund_key(merchant_id: int, key: str) -> str:
    """A refund, by the shop's own Idempotency-Key (or form key)."""
    return f"refund:{merchant_id}:{key}"


def checkout_key(payment_request_id: int) -> str:
    """The one payment a payment request may ever get."""
    return f"checkout:{payment_request_id}"


def money_request_key(public_id: str) -> str:
    """The form key of the one transfer a user's money request may ever get
    (Transfers.send_money makes it ``transfer:<payer>:<public id>``)."""
    return public_id


def mandate_debit_key(debit_id: int) -> str:
    """The one payment a mandate's debit may ever make."""
    return f"mandate_debit:{debit_id}"


def schedule_run_request_key(schedule_id: int, run_number: int) -> str:
    """The request key of a schedule's run (wallet.money.schedules): its
    ledger key is the transfer's or payment's with it (``transfer:<payer>:
    schedule-<id>-run-<n>``), the same for every worker, retry and PIN
    confirmation of that run, so it is paid at most once."""
    return f"schedule-{schedule_id}-run-{run_number}"


def public_id(prefix: str) -> str:
    """An unguessable id shown outside: ``pr_…`` payment requests, ``rf_…``
    refunds, ``msg_…`` webhook messages."""

    return f"{prefix}_{secrets.token_urlsafe(16)}"


def withdrawal_hold_key(transaction_id: int) -> str:
    return f"withdrawal:{transaction_id}:hold"


def withdrawal_reversal_key(transaction_id: int) -> str:
    """The refund of a payout the bank returned."""
    return f"withdrawal:{transaction_id}:reversal"


# ------------------------------------------------------ the payout reference

_PAYOUT_REFERENCE = re.compile(r"wd_([0-9]{1,18})", re.ASCII)


def payout_reference(transaction_id: int) -> str:
    """A withdrawal's reference at the bank: the same for every retry, so the
    bank can de-duplicate too."""
    return f"wd_{transaction_id}"


def parse_payout_reference(reference: object) -> int | None:
    """The withdrawal's transaction id, or None if ``reference`` is not ours."""
    match = _PAYOUT_REFERENCE.fullmatch(reference) if isinstance(reference, str) else None
    return int(match.group(1)) if match else None


# ------------------------------------------------------------------- time


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def ist_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of ``day`` in India and of the day after."""
    start = dt.datetime.combine(day, dt.time(), IST)
    return start, start + dt.timedelta(days=1)


# ------------------------------------------- compensation for late reversals


#: The company's expense for compensation paid to users (wallet.care.compensation):
#: an ``expense`` account with no floor, debited for every day's credit.
COMPANY_COMPENSATION: Final = "company:compensation"


def compensation_key(transaction_id: int, day_number: int) -> str:
    """The one credit of day ``day_number`` past the reversal deadline of the
    transaction ``transaction_id`` (whoever reported it, on however many
    tickets: ``transactions.idempotency_key`` is unique)."""
    return f"compensation:{transaction_id}:{day_number}"


# ------------------------------------------------ fraud reported (wallet.care.fraud)


class FraudHoldStatus(StrEnum):
    """``fraud_holds.status``: what became of the money frozen in a recipient's
    wallet when the sender reported fraud (wallet.care.fraud).

        held ──operator returns it──► returned   (the hold committed to the sender)
        held ──operator releases it─► released   (the recipient keeps it)
        none                                      (nothing was left to hold)
    """

    HELD = "held"
    RETURNED = "returned"
    RELEASED = "released"
    NONE = "none"
    ALL = nonmember(("held", "returned", "released", "none"))


def fraud_hold_key(ticket_id: int) -> str:
    """The ledger hold frozen for a fraud report (at most one per ticket)."""
    return f"fraud:{ticket_id}:hold"


def fraud_return_key(ticket_id: int) -> str:
    """The transaction record of a fraud hold returned to its sender."""
    return f"fraud:{ticket_id}:return"


def dispute_hold_key(dispute_public_id: str) -> str:
    """The ledger hold of a dispute's money in the shop's wallet."""
    return f"dispute:{dispute_public_id}:hold"


class TransferHoldStatus(StrEnum):
    """``transfer_holds.status``: a first payment to a new payee held for its
    undo window (wallet.money.transfer_holds): pending -> landed | cancelled."""

    PENDING = "pending"
    LANDED = "landed"
    CANCELLED = "cancelled"
    ALL = nonmember(("pending", "landed", "cancelled"))


# ------------------------------------------- payment links (wallet.merchants.payment_links)


class LinkStatus(StrEnum):
    """``payment_links.status``: active -> paid (a single-use link, once
    paid) | expired (its time passed) | cancelled (by the shop)."""

    ACTIVE = "active"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ALL = nonmember(("active", "paid", "expired", "cancelled"))


class LinkAmountMode(StrEnum):
    """``payment_links.amount_mode``: the shop's amount, or the customer's
    (within the link's minimum and maximum)."""

    FIXED = "fixed"
    OPEN = "open"
    ALL = nonmember(("fixed", "open"))


# ------------------------------------- shops' settlements (wallet.banking.auto_settlement)


class SettlementMode(StrEnum):
    """``settlement_schedules.mode``: when a shop's balance goes to its bank by
    itself: at set times of each India day, once a day for the days before
    (T+1), or never (by hand only)."""

    DAILY_TIMES = "daily_times"
    T_PLUS_1 = "t_plus_1"
    OFF = "off"
    ALL = nonmember(("daily_times", "t_plus_1", "off"))


class SettlementTrigger(StrEnum):
    """``settlements.trigger``: who started a settlement."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    SETTLE_ALL = "settle_all"
    ALL = nonmember(("scheduled", "manual", "settle_all"))


class SettlementStatus(StrEnum):
    """``settlements.status``: pending (recorded, its payouts not yet taken by
    a worker) -> processing -> paid (every payout completed) | failed (one
    refused or returned: the money of those is back in the shop's wallet)."""

    PENDING = "pending"
    PROCESSING = "processing"
    PAID = "paid"
    FAILED = "failed"
    ALL = nonmember(("pending", "processing", "paid", "failed"))
    OPEN = nonmember(("pending", "processing"))


def settlement_window_key(merchant_id: int, due: dt.datetime) -> str:
    """The one settlement of a shop's scheduled window (its due instant, UTC):
    unique in ``settlements.window_key``, so two workers settle it once."""
    return f"settlement:{merchant_id}:{due.astimezone(dt.timezone.utc):%Y-%m-%dT%H:%MZ}"


def settlement_payout_request_key(settlement_public_id: str, part: int) -> str:
    """The request key of a settlement's ``part``-th payout: its transaction's
    key is ``settlement:<merchant>:<this>``, so each part is recorded once."""
    return f"{settlement_public_id}-p{part}"


class StaffStatus(StrEnum):
    """``merchant_staff.status`` (wallet.merchants.staff): invited (a link
    sent, no password yet) -> active (signs in) -> removed (signs in no more;
    invited again, the same row starts over)."""

    INVITED = "invited"
    ACTIVE = "active"
    REMOVED = "removed"
    ALL = nonmember(("invited", "active", "removed"))


# ----------------------------------------------------- passkeys (wallet.identity.passkeys)


class PasskeyPurpose(StrEnum):
    """``passkey_challenges.purpose``: what a WebAuthn challenge was issued
    for -- adding a passkey (a signed-in user's) or signing in with one."""

    REGISTER = "register"
    SIGN_IN = "sign_in"
    ALL = nonmember(("register", "sign_in"))


class OtpPurpose(StrEnum):
    """``otp_codes.purpose``: what a one-time code sent to a phone proves
    (wallet.identity.phone_codes)."""

    SIGNUP = "signup"
    PASSWORD_RESET = "password_reset"
    PIN_RESET = "pin_reset"
    ALL = nonmember(("signup", "password_reset", "pin_reset"))


class OtpStatus(StrEnum):
    """``otp_codes.status``: pending -> used (the right code, once) | dead
    (too many wrong tries: start again). An expired one stays pending, past
    its ``expires_at``."""

    PENDING = "pending"
    USED = "used"
    DEAD = "dead"
    ALL = nonmember(("pending", "used", "dead"))
