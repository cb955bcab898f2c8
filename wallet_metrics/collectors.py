"""Gauges read from the database at scrape time, so they are right whichever
process did the work: queue depth and oldest item's age per queue and state
(wallet.operations.queue_stats), when the ledger verification last succeeded
(wallet.operations.ledger_checks), and users' tickets live and overdue
(wallet.care.story)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from wallet.care.story import QueueCounts, queue_counts
from wallet.core.codes import utcnow
from wallet.operations.ledger_checks import last_success_at
from wallet.operations.queue_stats import queue_states

log = logging.getLogger(__name__)


class DatabaseCollector:
    """``open_session()`` gives the session to read with, as a context manager:
    a fresh one (workers: ``sessionmaker()``), or a web request's own
    (``nullcontext(request.dbsession)``: on SQLite, where every transaction
    takes the write lock, a second session in the same request could wait on
    the first)."""

    def __init__(self, open_session: Callable[[], AbstractContextManager[Session]]):
        self.open_session = open_session

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("wallet_queue_depth", "Items waiting, per queue and state",
                                  labels=["queue", "state"])
        age = GaugeMetricFamily("wallet_queue_oldest_age_seconds",
                                "Age of the oldest waiting item (0 when none)",
                                labels=["queue", "state"])
        verified = GaugeMetricFamily(
            "wallet_ledger_verify_last_success_timestamp_seconds",
            "Unix time the last clean ledger verification finished (0: never)")
        up = GaugeMetricFamily("wallet_metrics_database_up",
                               "1 when the database-backed gauges could be read")
        started = time.monotonic()
        try:
            with self.open_session() as session:
                states = queue_states(session)
                last = last_success_at(session)
                tickets = queue_counts(session, utcnow())
        except SQLAlchemyError:
            log.exception("metrics: the database could not be read")
            up.add_metric([], 0)
            yield up
            return
        for item in states:
            depth.add_metric([item.queue, item.state], item.depth)
            age.add_metric([item.queue, item.state], item.oldest_age_s)
        verified.add_metric([], last.timestamp() if last is not None else 0)
        up.add_metric([], 1)
        took = GaugeMetricFamily("wallet_metrics_database_scrape_seconds",
                                 "Time the database-backed gauges took to read")
        took.add_metric([], time.monotonic() - started)
        yield from (depth, age, verified, up, took, *ticket_gauges(tickets))


def ticket_gauges(counts: QueueCounts) -> tuple[Metric, ...]:
    """Users' tickets still someone's work, by status, and those past their
    deadline (wallet.care.story.queue_counts)."""
    live = GaugeMetricFamily("wallet_tickets_live", "Users' tickets not yet answered, by status",
                             labels=["status"])
    for status, n in counts.by_status.items():
        live.add_metric([status], n)
    overdue = GaugeMetricFamily("wallet_tickets_overdue",
                                "Users' tickets not yet answered and past their deadline")
    overdue.add_metric([], counts.overdue)
    escalated = GaugeMetricFamily("wallet_tickets_escalated",
                                  "Users' tickets not yet answered that an operator escalated")
    escalated.add_metric([], counts.escalated)
    return live, overdue, escalated
