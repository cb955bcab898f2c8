"""Prometheus metrics of the wallet, shared by the web apps (webcommon.metrics)
and the workers (huey_tasks.metrics). It sits between the adapters and the
domain: it feeds ``prometheus_client`` from the domain's observer hooks
(wallet.core.observe) and reads the database-backed gauges through the domain
(wallet.operations.queue_stats, wallet.operations.ledger_checks). No web framework, no queue.

Counters and histograms live in the process's default registry; the
database-backed gauges are a collector each process adds to its own export
(:func:`exposition`), so they are read at scrape time.
"""
from __future__ import annotations

from .collectors import DatabaseCollector
from .export import CONTENT_TYPE, exposition, process_registry
from .instruments import PrometheusObserver

__all__ = ["CONTENT_TYPE", "DatabaseCollector", "PrometheusObserver", "exposition",
           "process_registry"]
