"""Jinja2 set-up: filters for money and Indian time, shared page globals."""
from __future__ import annotations

import datetime as dt

from pyramid.config import Configurator

from ledgerlib import format_paise
from wallet.codes import IST, Kind

#: How a transaction's kind reads in a user's history (others: capitalised).
KIND_LABELS = {Kind.REFUND: "Refund from shop"}


def rupees(amount_paise: int) -> str:
    return format_paise(amount_paise)


def ist(moment: dt.datetime, fmt: str = "%d %b %Y, %I:%M %p") -> str:
    return moment.astimezone(IST).strftime(fmt) + " IST"


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.capitalize())


def includeme(config: Configurator) -> None:
    config.add_jinja2_search_path("webapp:templates", name=".jinja2")

    def register_filters() -> None:
        env = config.get_jinja2_environment()
        env.filters["rupees"] = rupees
        env.filters["ist"] = ist
        env.filters["kind_label"] = kind_label

    config.action(None, register_filters, order=999)
