"""Jinja2 set-up shared by the page apps: their templates and filters, and
money in rupees the one way every page shows it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.config import Configurator

from ledgerlib import format_paise


def rupees(amount_paise: int) -> str:
    return format_paise(amount_paise)


def use_templates(config: Configurator, search_path: str,
                  filters: dict[str, Callable[..., Any]]) -> None:
    """Render ``.jinja2`` templates from ``search_path`` (``package:folder``)
    with ``rupees`` and ``filters``; call after including pyramid_jinja2."""
    config.add_jinja2_search_path(search_path, name=".jinja2")

    def register_filters() -> None:
        config.get_jinja2_environment().filters.update({"rupees": rupees, **filters})

    # After pyramid_jinja2 has made the environment (its actions run first).
    config.action(None, register_filters, order=999)
