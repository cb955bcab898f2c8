"""Reading the ini files: an app section's settings as a dict of strings.

Keys in the ini's ``[DEFAULT]`` section with a known prefix are shared by all
apps. A value written ``env:NAME`` is read from the environment variable NAME
(production.ini does this for every URL and secret); a missing one stops the
process at start-up with a clear message. The domain turns the dict into
typed settings (wallet.settings.WalletSettings).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

SHARED_PREFIXES = ("sqlalchemy.", "wallet.", "retry.", "huey.", "banks.")
DEVELOPMENT_SECRET_MARKER = "development-only"
MIN_SECRET_CHARS = 32
#: "aaaa...": long but not random; real secrets use many different characters.
MIN_DISTINCT_CHARS = 8


class ConfigurationError(RuntimeError):
    pass


def resolve_settings(global_config: Mapping[str, Any] | None,
                     settings: Mapping[str, Any]) -> dict[str, Any]:
    """An app section's settings with the shared ``[DEFAULT]`` keys and the
    ``env:NAME`` values filled in."""
    merged = {
        key: value
        for key, value in (global_config or {}).items()
        if key.startswith(SHARED_PREFIXES)
    }
    merged.update(settings)
    for key, value in list(merged.items()):
        if isinstance(value, str) and value.startswith("env:"):
            name = value[4:]
            if not os.environ.get(name, "").strip():  # blank is as good as unset
                raise ConfigurationError(
                    f"setting {key} comes from the environment variable {name}, which is not set"
                )
            merged[key] = os.environ[name]
    return merged


def load_settings(config_uri: str, name: str = "user") -> dict[str, Any]:
    """The resolved settings of app section ``name`` of an ini file (for
    scripts and workers, which have no WSGI app to hand them in)."""
    import plaster

    loader = plaster.get_loader(config_uri, protocols=["wsgi"])
    settings = loader.get_wsgi_app_settings(name)
    return resolve_settings(getattr(settings, "global_conf", {}), dict(settings))


def as_bool(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def is_production(settings: Mapping[str, Any]) -> bool:
    environment: object = settings.get("wallet.environment", "development")
    return environment == "production"


def require_secret(settings: Mapping[str, Any], key: str) -> str:
    """A secret setting; in production it must be long and not a development value."""
    return check_secret(settings.get(key, ""), key, production=is_production(settings))


def check_secret(secret: str, key: str, *, production: bool) -> str:
    if not (secret or "").strip():
        # Blank or only white space (an ini line "key =   ", an env var set to
        # " "): as good as no secret at all.
        raise ConfigurationError(f"setting {key} is required (it is blank)")
    if production and (DEVELOPMENT_SECRET_MARKER in secret
                       or len(secret.strip()) < MIN_SECRET_CHARS
                       or len(set(secret)) < MIN_DISTINCT_CHARS):
        raise ConfigurationError(
            f"setting {key} is a development value or shorter than {MIN_SECRET_CHARS} "
            "characters; set a real secret in production"
        )
    return secret
