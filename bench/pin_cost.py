"""CPU spent checking one wallet PIN, as a payment does: the keyed
HMAC-SHA-256 production ships (wallet.identity.pin_hashes) against the bcrypt
hash (cost 12, the passwords' production cost) that PINs used before.

    python -m bench.pin_cost [--checks N]

CPU time (time.process_time) of ``verify_pin`` with the right PIN, so the
figure does not depend on what else the machine runs. Ends with lines
``pin_cost scheme=... cpu_ms=...`` for machines."""
from __future__ import annotations

import argparse
import secrets
import time

import bcrypt

from wallet.identity.pin_hashes import hash_pin, parse_pin_keys, verify_pin

PIN = "2580"


def cpu_ms_per_check(stored: str, keys, checks: int) -> float:
    started = time.process_time()
    for _ in range(checks):
        assert verify_pin(PIN, stored, keys).matches
    return (time.process_time() - started) * 1000 / checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=20)
    args = parser.parse_args(argv)
    keys = parse_pin_keys(f"1:{secrets.token_urlsafe(32)}", "1", production=True)
    schemes = {
        "hmac-sha256 (shipped)": (hash_pin(PIN, keys), args.checks * 1000),
        "bcrypt-12 (before)": (bcrypt.hashpw(PIN.encode(), bcrypt.gensalt(12)).decode(),
                               args.checks),
    }
    figures = {name: cpu_ms_per_check(stored, keys, n) for name, (stored, n) in schemes.items()}
    for name, cpu_ms in figures.items():
        print(f"{name:24} {cpu_ms:10.4f} ms CPU per PIN check "
              f"({1000 / cpu_ms:,.0f} checks/s per core)")
    for name, cpu_ms in figures.items():
        print(f"pin_cost scheme={name.split()[0]} cpu_ms={cpu_ms:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
