"""Measured bank delays for pages (wallet.banking.bank_delays), reused for
``wallet.bank_delay_cache_s`` seconds per app process: a form shown a thousand
times a minute measures at most twice a minute."""
from __future__ import annotations

import threading
import time

from pyramid.request import Request

from wallet.banking.bank_delays import BankDelays

from . import request_services

_lock = threading.Lock()
CACHE_KEY = "bank_delays.cache"


def bank_delays(request: Request) -> dict[str, BankDelays]:
    services = request_services(request)
    ttl_s = services.settings.bank_delay_cache_s
    cached: tuple[float, dict[str, BankDelays]] | None = request.registry.get(CACHE_KEY)
    now = time.monotonic()
    if cached is not None and now - cached[0] < ttl_s:
        return cached[1]
    measured = services.bank_delay_meter().measure()
    with _lock:
        request.registry[CACHE_KEY] = (now, measured)
    return measured
