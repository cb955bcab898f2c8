"""The Prometheus text format of this process: the default registry (counters,
histograms, process and platform metrics) plus the collectors of this app or
worker (the database-backed gauges), served as one registry."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

#: The classic text format, read by every Prometheus.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class _ProcessDefaults:
    """The default registry's metrics, inside another registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def process_registry(collectors: Iterable[Collector] = ()) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessDefaults())
    for collector in collectors:
        registry.register(collector)
    return registry


def exposition(collectors: Iterable[Collector] = ()) -> bytes:
    return generate_latest(process_registry(collectors))
