"""The fake bank's settings, read from its ini section ([app:fake_bank]).

The bank reads the ``banks.*`` lines of the ini's ``[DEFAULT]`` section (a real
bank would hold its own copy of the API keys and webhook secrets it shares with
us). A value written ``env:NAME`` is read from the environment variable NAME; a
missing one stops the app at start-up with a clear message.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

#: Keys of ``[DEFAULT]`` the bank uses: ``banks.enabled``, ``banks.<code>.api_key``
#: and ``banks.<code>.webhook_secrets``.
SHARED_PREFIXES = ("banks.",)
ENV_PREFIX = "env:"


class ConfigurationError(RuntimeError):
    pass


def resolve_settings(
    global_config: Mapping[str, Any] | None, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """The app's own settings over the shared ``[DEFAULT]`` ones, ``env:NAME`` resolved."""
    merged = {
        key: value
        for key, value in (global_config or {}).items()
        if key.startswith(SHARED_PREFIXES)
    }
    merged.update(settings)
    for key, value in list(merged.items()):
        if isinstance(value, str) and value.startswith(ENV_PREFIX):
            name = value[len(ENV_PREFIX):]
            if not os.environ.get(name):
                raise ConfigurationError(
                    f"setting {key} comes from the environment variable {name}, which is not set"
                )
            merged[key] = os.environ[name]
    return merged
