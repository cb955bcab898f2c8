"""The console's views: parse, call the domain, render."""
from __future__ import annotations

from pyramid.request import Request


def field(request: Request, name: str, limit: int = 1000) -> str:
    """A form field as text (absent: empty), cut to ``limit`` characters."""
    value = request.POST.get(name, "")
    return value[:limit] if isinstance(value, str) else ""
