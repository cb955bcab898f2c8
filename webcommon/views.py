"""Pyramid's view decorators with types: Pyramid ships none, so under mypy
--strict every decorated view would turn untyped. Each returns Pyramid's own
decorator, which registers the view with venusian and hands it back
unchanged; they are applied at the same frame depth as Pyramid's (what
``config.scan`` relies on)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pyramid import view

_View = TypeVar("_View", bound=Callable[..., Any])
_Class = TypeVar("_Class", bound=type)


def view_config(**settings: Any) -> Callable[[_View], _View]:
    """:class:`pyramid.view.view_config`."""
    decorator: Callable[[_View], _View] = view.view_config(**settings)
    return decorator


def notfound_view_config(**settings: Any) -> Callable[[_View], _View]:
    """:class:`pyramid.view.notfound_view_config`."""
    decorator: Callable[[_View], _View] = view.notfound_view_config(**settings)
    return decorator


def forbidden_view_config(**settings: Any) -> Callable[[_View], _View]:
    """:class:`pyramid.view.forbidden_view_config`."""
    decorator: Callable[[_View], _View] = view.forbidden_view_config(**settings)
    return decorator


def view_defaults(**settings: Any) -> Callable[[_Class], _Class]:
    """:func:`pyramid.view.view_defaults` (a class decorator)."""
    decorator: Callable[[_Class], _Class] = view.view_defaults(**settings)
    return decorator


__all__ = ["forbidden_view_config", "notfound_view_config", "view_config", "view_defaults"]


def exception_view_config(**settings: Any) -> Callable[[_View], _View]:
    """:class:`pyramid.view.exception_view_config`."""
    decorator: Callable[[_View], _View] = view.exception_view_config(**settings)
    return decorator
