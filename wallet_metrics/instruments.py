"""The process's counters and histograms, and the observer that feeds them
from the domain's hooks (wallet.core.observe). Label values are bounded: bank codes
from the registry, the domain's kinds, statuses and verdicts, route patterns."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

from wallet.core.observe import Observer

#: Seconds: web requests (fast) ...
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: ... bank calls (slow, bounded by the client's timeout) ...
BANK_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
#: ... and deposits, settled by a person paying on the bank's page.
SETTLE_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)

HTTP_REQUESTS = Counter(
    "wallet_http_requests", "HTTP requests answered, by app, route pattern, method and status",
    ["app", "route", "method", "status"])
HTTP_LATENCY = Histogram(
    "wallet_http_request_duration_seconds", "Time to answer an HTTP request",
    ["app", "route", "method"], buckets=REQUEST_BUCKETS)
MONEY_OPERATIONS = Counter(
    "wallet_money_operations", "Money movements that reached a status (after commit)",
    ["kind", "outcome"])
PAYOUTS = Counter(
    "wallet_payouts", "Payouts (withdrawals, settlements) that reached a final status",
    ["bank", "outcome"])
BANK_CALLS = Histogram(
    "wallet_bank_call_duration_seconds", "Calls to a bank's API, by call type and outcome",
    ["bank", "call", "outcome"], buckets=BANK_BUCKETS)
WEBHOOK_DELIVERIES = Counter(
    "wallet_bank_webhook_deliveries", "Banks' webhook deliveries, by verdict",
    ["bank", "result", "verdict"])
DEPOSIT_SETTLE = Histogram(
    "wallet_deposit_settle_seconds", "From a deposit's start to its settlement",
    ["bank", "outcome"], buckets=SETTLE_BUCKETS)
COMPENSATION_DAYS = Counter(
    "wallet_compensation_days", "Days of compensation for a late reversal credited to users")
COMPENSATION_PAISE = Counter(
    "wallet_compensation_paise", "Compensation for late reversals credited to users, in paise")


class PrometheusObserver(Observer):
    """Feeds the process's instruments: what the adapters hand to the
    session factories and services they build (nothing installs it)."""

    def bank_call(self, bank: str, call: str, outcome: str, seconds: float) -> None:
        BANK_CALLS.labels(bank, call, outcome).observe(seconds)

    def money_operation(self, kind: str, outcome: str) -> None:
        MONEY_OPERATIONS.labels(kind, outcome).inc()

    def payout_settled(self, bank: str, outcome: str) -> None:
        PAYOUTS.labels(bank, outcome).inc()

    def deposit_settled(self, bank: str, outcome: str, seconds: float) -> None:
        DEPOSIT_SETTLE.labels(bank, outcome).observe(seconds)

    def webhook_delivery(self, bank: str, verdict: str, accepted: bool) -> None:
        WEBHOOK_DELIVERIES.labels(bank, "accepted" if accepted else "rejected", verdict).inc()

    def compensation_paid(self, days: int, paise: int) -> None:
        COMPENSATION_DAYS.inc(days)
        COMPENSATION_PAISE.inc(paise)

