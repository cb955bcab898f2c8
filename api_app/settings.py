"""The API app's own settings (``api.*``), read once at start-up."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyramid.request import Request

from wallet.settings import ConfigurationError, as_bool

_DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class ApiSettings:
    #: A token works for at most this long after it was issued...
    token_ttl_s: float = 30 * _DAY_S
    #: ...and stops working when unused for this long.
    token_idle_s: float = 7 * _DAY_S
    #: Money requests (POSTs that move money) per minute, per token and per address.
    money_requests_per_minute_per_token: int = 60
    money_requests_per_minute_per_ip: int = 300
    #: A shop's money requests (payment requests, refunds) per minute, all its keys together.
    money_requests_per_minute_per_merchant: int = 300
    #: All of a user's tokens together (a new sign-in is no new budget).
    money_requests_per_minute_per_user: int = 120
    #: "memory" (one process: development, tests) or "redis" (shared by all processes).
    rate_limit_backend: str = "memory"
    rate_limit_redis_url: str = ""
    #: Check every answer against the OpenAPI document too (requests always are).
    validate_responses: bool = True

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> ApiSettings:
        defaults = cls()

        def number(key: str, default: float) -> float:
            value = settings.get(f"api.{key}")
            if value in (None, ""):
                return default
            try:
                parsed = float(value)
            except ValueError:
                raise ConfigurationError(f"setting api.{key} = {value!r} is not a number") from None
            if parsed <= 0:
                raise ConfigurationError(f"setting api.{key} must be above zero")
            return parsed

        backend = str(settings.get("api.rate_limit_backend", defaults.rate_limit_backend))
        if backend not in ("memory", "redis"):
            raise ConfigurationError("api.rate_limit_backend must be memory or redis")
        redis_url = str(settings.get("api.rate_limit_redis_url", ""))
        if backend == "redis" and not redis_url:
            raise ConfigurationError(
                "api.rate_limit_backend = redis needs api.rate_limit_redis_url")
        return cls(
            token_ttl_s=number("token_ttl_s", defaults.token_ttl_s),
            token_idle_s=number("token_idle_s", defaults.token_idle_s),
            money_requests_per_minute_per_token=int(number(
                "money_requests_per_minute_per_token",
                defaults.money_requests_per_minute_per_token)),
            money_requests_per_minute_per_ip=int(number(
                "money_requests_per_minute_per_ip", defaults.money_requests_per_minute_per_ip)),
            money_requests_per_minute_per_merchant=int(number(
                "money_requests_per_minute_per_merchant",
                defaults.money_requests_per_minute_per_merchant)),
            money_requests_per_minute_per_user=int(number(
                "money_requests_per_minute_per_user",
                defaults.money_requests_per_minute_per_user)),
            rate_limit_backend=backend,
            rate_limit_redis_url=redis_url,
            validate_responses=as_bool(settings.get("api.validate_responses", "true")),
        )


def api_settings(request: Request) -> ApiSettings:
    found: ApiSettings = request.registry["api_settings"]
    return found
