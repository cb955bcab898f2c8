"""Redis connections from one URL, for one Redis or for a Sentinel-watched set.

``redis://[:password@]host:port/db`` is one server. In production the master
changes when Sentinel fails over, so the URL names the sentinels instead::

    redis+sentinel://[:password@]host1:26379,host2:26379,host3:26379/SERVICE/DB

and :func:`connection_pool` returns redis-py's ``SentinelConnectionPool``: each
new connection asks the sentinels where the master of ``SERVICE`` is now, and a
connection to a master that was demoted (it answers READONLY) or went away is
dropped and made again to the new one. Huey, the API's rate-limit counters and
the readiness check all take their connections from such a pool, so they follow
the master with no restart. The password, if any, is the data servers'
(``requirepass``); the sentinels are asked without one.
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

SENTINEL_SCHEME = "redis+sentinel"


class RedisUrlError(ValueError):
    pass


@dataclass(frozen=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    password: str | None


def parse_sentinel_url(url: str) -> SentinelUrl:
    """The parts of a ``redis+sentinel://`` URL (a clear error if malformed)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise RedisUrlError(f"not a {SENTINEL_SCHEME}:// URL")
    credentials, _, hosts = parts.netloc.rpartition("@")
    password = urllib.parse.unquote(credentials.partition(":")[2]) if credentials else None
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise RedisUrlError(f"sentinel {item!r} is not host:port")
        sentinels.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise RedisUrlError("the path must be /SERVICE or /SERVICE/DB")
    return SentinelUrl(tuple(sentinels), path[0], int(path[1]) if len(path) == 2 else 0,
                       password or None)


def connection_pool(url: str, *, socket_timeout_s: float | None = None,
                    connect_timeout_s: float = 1.0) -> Any:
    """A redis-py connection pool for ``url`` (either kind)."""
    import redis
    from redis.sentinel import Sentinel, SentinelConnectionPool

    if not url.startswith(SENTINEL_SCHEME + "://"):
        return redis.ConnectionPool.from_url(url, socket_timeout=socket_timeout_s,
                                             socket_connect_timeout=connect_timeout_s)
    parsed = parse_sentinel_url(url)
    sentinel = Sentinel(list(parsed.sentinels), socket_timeout=connect_timeout_s,
                        socket_connect_timeout=connect_timeout_s)
    pool_class: Any = SentinelConnectionPool  # untyped in redis-py
    return pool_class(
        parsed.service, sentinel, db=parsed.db, password=parsed.password,
        socket_timeout=socket_timeout_s, socket_connect_timeout=connect_timeout_s)


def client(url: str, *, socket_timeout_s: float | None = None,
           connect_timeout_s: float = 1.0) -> Any:
    """A ``redis.Redis`` on :func:`connection_pool`."""
    import redis

    return redis.Redis(connection_pool=connection_pool(
        url, socket_timeout_s=socket_timeout_s, connect_timeout_s=connect_timeout_s))
