"""The workers' metrics: each consumer process serves the Prometheus text
format on its own port (``huey.metrics_port``, on ``huey.metrics_host``,
127.0.0.1 unless set; no port, no server), started when the consumer starts.

Why a port per consumer and not prometheus_client's multiprocess mode: our
consumers run worker *threads* (``-k thread``, the default), so one process
holds all of a consumer's counters in memory; Prometheus scrapes each consumer
as a target and sums across them. Multiprocess mode would need a shared
directory wiped at every start, and its gauges can't be read from the
database at scrape time the way ours are. (With ``-k process`` workers each
child would try the same port: run thread workers, or one consumer per port.)
"""
from __future__ import annotations

import logging
import threading

from prometheus_client import start_http_server

from wallet_metrics import DatabaseCollector, process_registry

from .app import huey, worker

log = logging.getLogger(__name__)
_started = threading.Lock()
_server: list[object] = []  # the running server, once


def serve_metrics(port: int, host: str = "127.0.0.1") -> bool:
    """Start this process's metrics server (once); False if already started."""
    with _started:
        if _server:
            return False
        registry = process_registry([DatabaseCollector(worker.session_factory())])
        _server.append(start_http_server(port, addr=host, registry=registry))
        log.info("metrics on http://%s:%d/metrics", host, port)
        return True


@huey.on_startup()  # type: ignore[untyped-decorator]  # runs in each worker; huey has no types
def start_metrics() -> None:
    port = str(worker.raw_settings.get("huey.metrics_port", "")).strip()
    if port:
        host = str(worker.raw_settings.get("huey.metrics_host", "127.0.0.1"))
        try:
            serve_metrics(int(port), host)
        except OSError:  # the port is taken: the work goes on, unmeasured
            log.exception("metrics: cannot listen on %s:%s", host, port)
