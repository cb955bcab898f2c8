"""Redis behind Sentinel (wallet.core.redis_urls): the task queue and the API's
rate-limit counters take a ``redis+sentinel://`` URL and follow the master
when Sentinel fails over, with no restart. The failover test runs a master,
two replicas and three sentinels of its own (Debian's redis-server and
redis-sentinel; bin/test.sh installs redis-sentinel under CI)."""
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

from wallet.core.redis_urls import RedisUrlError, SentinelUrl, parse_sentinel_url

from ..conftest import ON_POSTGRES

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_database():
    assert parse_sentinel_url(
        "redis+sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2:26380,[::1]:26381/wallet/3"
    ) == SentinelUrl((("10.0.0.1", 26379), ("10.0.0.2", 26380), ("::1", 26381)), "wallet", 3,
                     "s@cret")
    assert parse_sentinel_url("redis+sentinel://h:1/wallet").db == 0


@pytest.mark.parametrize("url", [
    "redis://h:6379/0", "redis+sentinel://h/wallet/0", "redis+sentinel://h:1/",
    "redis+sentinel://h:1/wallet/x", "redis+sentinel://h:1/a/1/2"])
def test_a_malformed_sentinel_url_is_refused(url):
    with pytest.raises(RedisUrlError):
        parse_sentinel_url(url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sentinel_group(tmp_path):
    if ON_POSTGRES:
        pytest.skip("brings its own servers: run once, in the SQLite pass")
    if not (shutil.which("redis-server") and shutil.which("redis-sentinel")):
        if os.environ.get("CI") == "true":
            pytest.fail("redis-sentinel is required in CI (bin/test.sh installs it)")
        pytest.skip("needs Debian's redis-server and redis-sentinel")
    from bench.redis_ha import RedisHost, SentinelGroup

    hosts = [RedisHost(f"redis{i}", "127.0.0.1", free_port(), free_port()) for i in (1, 2, 3)]
    group = SentinelGroup(tmp_path / "redis", hosts)
    try:
        group.start()
        yield group
    finally:
        group.stop()


def test_the_queue_and_the_rate_limits_follow_the_master_after_a_sentinel_failover(
        sentinel_group):
    from api_app.ratelimit import RedisCounter
    from bench.cluster import wait_for
    from huey_tasks.app import make_huey

    url = sentinel_group.url(5)
    storage = make_huey({"huey.backend": "redis", "huey.url": url}).storage
    counter = RedisCounter(url)
    storage.enqueue(b"before")
    assert counter.hit(["sentinel-test"], 60)[0] == [1]
    old = sentinel_group.master()

    sentinel_group.kill(old)
    new = wait_for("a new master", lambda: (m := sentinel_group.master()) != old and m, 30)

    def queue_works() -> bool:  # the same objects: no restart, no new URL
        try:
            storage.enqueue(b"after")
        except Exception:  # noqa: BLE001 - the old master's connection dies first
            return False
        return True

    wait_for("the queue on the new master", queue_works, 30)
    assert new != old
    # The replica had the task queued before the failover (asynchronous copy).
    assert storage.dequeue() in (b"before", b"after")
    assert wait_for("counting on the new master",
                    lambda: counter.hit(["sentinel-test"], 60)[0][0] > 0, 10)
    sentinel_group.restart(old)  # the old master comes back as a replica
    assert wait_for("still one master", lambda: sentinel_group.master() == new, 10)
