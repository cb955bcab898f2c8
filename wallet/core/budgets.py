"""How many database round trips each money operation may make (issue #25):
the statements counted by wallet.core.round_trips from the request's arrival
to its answer, ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` not counted. The suite
holds every operation to its budget (tests/apps/test_round_trips.py), on SQLite
and on PostgreSQL; bench/round_trips.py prints the figures. An operation that
needs more is a decision: raise its budget here, in the same commit, and say
why. The figures before and after each cut: docs/performance.md.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUDGETS", "Budget", "budget_of"]


@dataclass(frozen=True)
class Budget:
    """An operation's most statements, per database. They differ: on
    PostgreSQL a ledger posting is one statement (ledgerlib's fast path, a
    CTE that locks, checks and writes) where SQLite needs four (lock, entry,
    postings, balances); on SQLite the PIN try is counted in the request's
    transaction, on PostgreSQL on a connection of its own
    (wallet.identity.pin_tries), whose pool pre-ping is not a statement."""

    operation: str
    what: str
    sqlite: int
    postgresql: int

    def on(self, dialect: str) -> int:
        """The budget on ``dialect`` (an engine's ``dialect.name``)."""
        return self.postgresql if dialect == "postgresql" else self.sqlite


#: Measured: docs/performance.md ("Round trips per operation").
BUDGETS: tuple[Budget, ...] = (
    Budget("api_transfer", "API: POST /v1/transfers", sqlite=12, postgresql=7),
    # Shop payments write the counter's event with them (wallet.core.counter_events):
    # in the transaction's own INSERT on PostgreSQL (a data-modifying CTE), one INSERT
    # more on SQLite, which has no such CTE (+1 there: api_shop_payment, page_shop_payment,
    # checkout_pay, mandate_debit, api_pay_mandate_debit).
    Budget("api_shop_payment", "API: POST /v1/payments", sqlite=11, postgresql=7),
    Budget("page_send", "user app: /send, the confirm step's POST", sqlite=12, postgresql=7),
    Budget("page_shop_payment", "user app: /pay/<handle>, the confirm step's POST",
           sqlite=12, postgresql=8),
    Budget("checkout_pay", "user app: POST /checkout/<request> (a payment request paid)",
           sqlite=16, postgresql=12),
    Budget("withdrawal_request", "API: POST /v1/withdrawals", sqlite=17, postgresql=16),
    Budget("deposit_settle", "webhook app: a bank's deposit.succeeded", sqlite=14, postgresql=10),
    Budget("refund", "API: a shop's POST /v1/payment_requests/<id>/refunds",
           sqlite=19, postgresql=16),
    # Users' money requests: a transfer's (api_transfer) and 3 more: the amount read by the
    # quote (none when the body sends amount_paise), the request locked with its requester
    # (whose phone the transfer takes), the request marked paid.
    Budget("api_pay_money_request", "API: POST /v1/money_requests/<id>/pay",
           sqlite=15, postgresql=10),
    # AutoPay (wallet.merchants.mandate_debits): a worker's step, no request around it:
    # the claim (debit and mandate, one statement), the customer and the shop, the
    # posting, the payment's record, the customer's notification, the debit, the
    # shop's event, its endpoints and their delivery.
    Budget("mandate_debit", "worker: a due mandate debit executed (its own transaction)",
           sqlite=14, postgresql=10),
    # A scheduled run (wallet.money.schedules): the workers' transaction that
    # claims the schedule due first (SKIP LOCKED), reads its run again under
    # the lock, makes the next run (2), reads payer and payee (1), pays through
    # Transfers.send_money inside a savepoint (SAVEPOINT and RELEASE: 2, so a
    # refusal is recorded on the run), then its notice and outcome (2).
    Budget("scheduled_run", "workers: one run of a schedule paid (PaymentSchedules.run_due_one)",
           sqlite=17, postgresql=13),
    # AutoPay, the customer's side (api_app.views.autopay): a debit above the PIN
    # cap paid with the PIN. A shop payment's (api_shop_payment) and 9 more: the
    # debit read with its mandate by the quote, the shop, the mandate and the debit
    # locked (level 4), the debit marked paid, the shop's event, its endpoints and
    # their delivery, and the payment read again for the answer.
    Budget("api_pay_mandate_debit", "API: POST /v1/autopay/debits/<id>/pay",
           sqlite=20, postgresql=16),
    # Compensation for a late reversal (wallet.care.compensation): a worker's step, one
    # ticket's transaction paying one day: the ticket claimed with its transaction (SKIP
    # LOCKED; its settled_at read in the same statement), the days already paid for that
    # transaction across all its tickets (one statement, joined: it replaced the ticket's
    # own, so the count is unchanged), the posting, the credit with its notification (one
    # statement; two on SQLite, whose posting is four), the day's row, the ticket's
    # timeline line and its updated_at.
    Budget("compensation_credit", "worker: one day of compensation credited on a ticket",
           sqlite=11, postgresql=7),
    # Report fraud (wallet.care.fraud): the token, the transfer locked (level 4), a live
    # ticket looked for, the ticket (in its savepoint: 3) and its first line, the
    # recipient's balance read, the hold (accounts locked, the hold, the balances, the hold
    # read back: 4), the fraud_holds row, the ticket touched and its finding line, the
    # recipient's notification.
    # +1 (review of #28): whether the transfer was given back already (reversed, or
    # returned after an earlier report), one statement: a second hold would pay twice.
    Budget("api_report_fraud", "API: POST /v1/transactions/<id>/report_fraud",
           sqlite=17, postgresql=17),
    # Disputes of shop payments (wallet.merchants.disputes). Opened (the customer's
    # complaint ticket calls it): the payment locked (4), its open disputes and its
    # refunds read, the shop, the shop's balance read and its hold (7, 8), the
    # dispute, the shop's notice, event, endpoints and delivery.
    Budget("dispute_open", "domain: Disputes.open (a customer's complaint ticket)",
           sqlite=15, postgresql=15),
    # Accepted by the shop's server: the dispute locked (4), the hold committed to
    # the customer (7, 8), the refund's transaction and refunds row, the customer's
    # notification, the shop's event, endpoints and delivery, the Idempotency-Key
    # (the dispute is read once unlocked first: another shop's is a 404 before any key).
    Budget("api_dispute_accept", "API: POST /v1/disputes/<id>/accept",
           sqlite=20, postgresql=16),
    # A first payment held for its undo window (wallet.money.transfer_holds): a
    # transfer's lookup (the first-payment check is in it: no statement), PIN and
    # limit, then a ledger hold instead of a posting (accounts locked, the hold
    # inserted, the balances, the hold read back: 4, where the fast path posts in
    # 1), the look for a twin's record (the hold's key cannot say it replayed),
    # the record with its notice, the window's row.
    Budget("api_transfer_held", "API: POST /v1/transfers, a first payment held",
           sqlite=14, postgresql=12),
    # The undo (no Idempotency-Key): the transfer and its window's row locked
    # (one statement), the hold released (locked, accounts locked, balances,
    # the hold marked and read back), both parties told (one insert on
    # PostgreSQL), the window's row and the transfer updated.
    Budget("api_transfer_undo", "API: POST /v1/transfers/<id>/undo",
           sqlite=11, postgresql=10),
    # Payment links (wallet.merchants.payment_links). Made by a shop's server: the key,
    # the link in a savepoint (SAVEPOINT, INSERT, RELEASE: its reference's unique index
    # decides, no read first), the Idempotency-Key's answer.
    Budget("api_payment_link_create", "API: POST /v1/payment_links",
           sqlite=5, postgresql=5),
    # Opened by a customer (its page's POST): the session, the form's key looked up, the
    # link and its shop, the payment request, the form's key stored.
    Budget("link_open", "user app: POST /l/<link> (a payment request made for the link)",
           sqlite=6, postgresql=6),
    # Paid at the checkout: a plain request's (checkout_pay, unchanged) and 2 more: the
    # link locked after the request (4a) and its count written.
    Budget("link_checkout_pay", "user app: POST /checkout/<request> of a payment link",
           sqlite=17, postgresql=14),
    # A shop's automatic settlement (wallet.banking.auto_settlement): a worker's step,
    # one due window of one shop settled in one payout. The schedule claimed (SKIP
    # LOCKED) and moved to its next window (2), the shop, its account locked, its
    # balance, the last settlement's end and the disputes' holds (4), the settlement
    # in its savepoint (3), then a withdrawal's request without its PIN: the replay
    # look-up, its savepoint (2), the record, the bank shard opened and read (2), the
    # hold (accounts locked, the hold, the balances, read back: 4), the payout's
    # details, then the settlement's payout row. Each further payout of a split
    # settlement adds a withdrawal's 11.
    Budget("scheduled_settlement",
           "workers: one due settlement window, one payout (AutoSettlements.run_due_one)",
           sqlite=22, postgresql=21),
    # A withdrawal to a saved bank account (wallet.banking.saved_accounts): a typed
    # one's (withdrawal_request) and 1 more, the saved account read (the user's, live).
    Budget("api_withdraw_saved", "API: POST /v1/bank_accounts/<id>/withdrawals",
           sqlite=18, postgresql=17),
)


def budget_of(operation: str) -> Budget:
    for budget in BUDGETS:
        if budget.operation == operation:
            return budget
    raise KeyError(operation)
