"""The server CPU of one API request, measured in-process (not a timed test):

    python bench/request_cpu.py [--db-url postgresql+psycopg://…] [--requests 300]

Builds the API app from the same settings as ``load_bench.py api-p2p``
(production's PIN hashing and middleware, its pool), signs one user in, then
runs ``--requests`` of each through the whole WSGI stack (tweens, the
transaction manager, the OpenAPI contract) with WebTest: ``GET /v1/me`` (a
token check and a read) and ``POST /v1/transfers`` (a transfer with its PIN and
``Idempotency-Key``). It prints the process CPU per request (the client's
share -- WebTest building the request -- is in it, a few hundredths of a ms)
and the Python function calls per transfer (cProfile: a figure that does not
move with the machine's load), and ends with machine-readable lines.

Where the load benchmark says how fast, this says where a request's CPU goes
(``--profile`` prints the top of the profile by cumulative time).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import webtest  # noqa: E402
from pyramid.paster import get_app  # noqa: E402

from bench import load_bench as lb  # noqa: E402

UNLIMITED = {"api.rate_limit_backend": "memory",
             "api.money_requests_per_minute_per_token": "1000000000",
             "api.money_requests_per_minute_per_ip": "1000000000",
             "api.money_requests_per_minute_per_user": "1000000000"}


def api_app(db_url: str) -> tuple[webtest.TestApp, list[str]]:
    args = argparse.Namespace(db_url=db_url, clients=2)
    workdir, settings, _engine, phones = lb.p2p_people(args, "bench_request_cpu")
    lines = ["[app:api]", "use = egg:wallet#api"]
    lines += [f"{k} = {str(v).replace('%', '%%')}" for k, v in {**settings, **UNLIMITED}.items()]
    ini = workdir / "request-cpu.ini"
    ini.write_text("\n".join(lines) + "\n")
    app = webtest.TestApp(get_app(str(ini), "api"), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    return app, phones


def cpu_ms(run, n: int) -> float:
    for _ in range(20):  # warm: the statement caches, the pool
        run()
    started = time.process_time()
    for _ in range(n):
        run()
    return (time.process_time() - started) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", default=lb.PG)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    app, phones = api_app(args.db_url)
    token = app.post_json("/v1/tokens", {"phone": phones[0], "password": lb.PASSWORD,
                                         "device_name": "request cpu"}).json["token"]
    auth = {"Authorization": f"Bearer {token}"}

    def me() -> None:
        app.get("/v1/me", headers=auth)

    def transfer() -> None:
        app.post_json("/v1/transfers", {"to_phone": phones[1], "amount_paise": 100,
                                        "pin": lb.PIN},
                      headers={**auth, "Idempotency-Key": secrets.token_hex(16)}, status=201)

    print(lb.HASHING)
    me_ms, transfer_ms = cpu_ms(me, args.requests), cpu_ms(transfer, args.requests)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(100):
        transfer()
    profile.disable()
    stats = pstats.Stats(profile)
    calls = stats.total_calls // 100  # type: ignore[attr-defined]  # (pstats: untyped)
    print(f"GET /v1/me: {me_ms:.2f} ms CPU per request")
    print(f"POST /v1/transfers: {transfer_ms:.2f} ms CPU per transfer, "
          f"{calls} Python calls per transfer")
    if args.profile:
        stats.sort_stats("cumulative").print_stats(40)
    print(f"request_cpu_me_ms={me_ms:.2f}")
    print(f"request_cpu_transfer_ms={transfer_ms:.2f}")
    print(f"request_cpu_transfer_calls={calls}")


if __name__ == "__main__":
    main()
