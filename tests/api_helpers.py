"""Helpers for the JSON API tests: sign in, keys, headers."""
from __future__ import annotations

import secrets
from typing import Any

from .wallet_helpers import PASSWORD


def sign_in(api: Any, phone: str = "+919876543210", device: str = "test phone") -> str:
    reply = api.post_json("/v1/tokens", {"phone": phone, "password": PASSWORD,
                                         "device_name": device}, status=201)
    token: str = reply.json["token"]
    return token


def auth(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def new_key() -> str:
    return secrets.token_urlsafe(16)
