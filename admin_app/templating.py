"""Jinja2 set-up of the console: money in rupees, times in India and UTC,
statuses as coloured badges."""
from __future__ import annotations

import datetime as dt

from pyramid.config import Configurator

from wallet.core.codes import IST
from webcommon.templates import use_templates


def ist(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S IST")


def age(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    seconds = int((dt.datetime.now(dt.timezone.utc) - moment).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


#: How a status looks (admin_app/static/console.css ``.badge``): done, failed or
#: given back, waiting for someone, or still moving. Others: plain.
TONES: dict[str, str] = {
    **dict.fromkeys(("completed", "success", "done", "resolved", "released", "delivered",
                     "paid", "clean", "active"), "good"),
    **dict.fromkeys(("failed", "reversed", "refused", "error", "rejected", "returned",
                     "dead", "overdue", "frozen"), "bad"),
    **dict.fromkeys(("needs_review", "escalated", "contested", "held", "open", "flagged"),
                    "warn"),
    **dict.fromkeys(("pending", "queued", "sending", "investigating", "retrying"), "info"),
}


def tone(status: str | None) -> str:
    return TONES.get(str(status or ""), "plain")


def includeme(config: Configurator) -> None:
    use_templates(config, "admin_app:templates", {"ist": ist, "age": age, "tone": tone})
