"""Settings shared by every app of the wallet, read from its ini section.

Keys in the ini's ``[DEFAULT]`` section with a known prefix are shared by all
apps. A value written ``env:NAME`` is read from the environment variable NAME
(production.ini does this for every URL and secret); a missing one stops the
app at start-up with a clear message.
"""
from __future__ import annotations

import os

SHARED_PREFIXES = ("sqlalchemy.", "wallet.", "retry.", "huey.", "banks.")
DEVELOPMENT_SECRET_MARKER = "development-only"
MIN_SECRET_CHARS = 32


class ConfigurationError(RuntimeError):
    pass


def resolve_settings(global_config: dict | None, settings: dict) -> dict:
    merged = {
        key: value
        for key, value in (global_config or {}).items()
        if key.startswith(SHARED_PREFIXES)
    }
    merged.update(settings)
    for key, value in list(merged.items()):
        if isinstance(value, str) and value.startswith("env:"):
            name = value[4:]
            if not os.environ.get(name):
                raise ConfigurationError(
                    f"setting {key} comes from the environment variable {name}, which is not set"
                )
            merged[key] = os.environ[name]
    return merged


def load_settings(config_uri: str, name: str = "user") -> dict:
    """The resolved settings of app section ``name`` of an ini file (for scripts)."""
    from pyramid.paster import get_appsettings

    settings = get_appsettings(config_uri, name=name)
    return resolve_settings(getattr(settings, "global_conf", {}), dict(settings))


def as_bool(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def require_secret(settings: dict, key: str) -> str:
    """A secret setting; in production it must be long and not a development value."""
    secret = settings.get(key, "")
    production = settings.get("wallet.environment", "development") == "production"
    if not secret:
        raise ConfigurationError(f"setting {key} is required")
    if production and (DEVELOPMENT_SECRET_MARKER in secret or len(secret) < MIN_SECRET_CHARS):
        raise ConfigurationError(
            f"setting {key} is a development value or shorter than {MIN_SECRET_CHARS} "
            "characters; set a real secret in production"
        )
    return secret
