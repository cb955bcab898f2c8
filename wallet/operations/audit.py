"""The operators' audit log: who did what, when, on which object, why, and
how it ended -- including what was refused. Append-only: this module only
ever inserts (and the database refuses UPDATE and DELETE on the table)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.codes import utcnow
from .models import AuditEntry
from .operators import Role

__all__ = ["Actor", "AuditLog", "Outcome", "CSV_HEADERS"]

CSV_HEADERS = ("id", "at_utc", "actor", "source", "action", "object_type", "object_id",
               "reason", "outcome", "detail")
PAGE_SIZE = 100


class Outcome(StrEnum):
    """``audit_log.outcome``: what became of an operator's action."""

    DONE = "done"
    REFUSED = "refused"  # not allowed, no reason, or the domain said no: nothing changed
    ERROR = "error"  # the bank could not be asked: nothing changed


@dataclass(frozen=True)
class Actor:
    """Who acts: an operator signed in to the console, or a wallet-admin run
    (the OS user, or its --as name), which may act."""

    name: str
    role: str
    source: str  # console | cli

    @property
    def may_act(self) -> bool:
        return Role.may_act(self.role)

    @classmethod
    def cli(cls, name: str) -> Actor:
        return cls(name[:64] or "unknown", Role.OPERATOR, "cli")


@dataclass
class AuditLog:
    db: Session
    clock: Callable[[], dt.datetime] = utcnow

    def record(self, actor: Actor, action: str, object_type: str, object_id: object,
               reason: str, outcome: str, detail: str = "") -> AuditEntry:
        entry = AuditEntry(at=self.clock(), actor=actor.name, source=actor.source,
                           action=action, object_type=object_type,
                           object_id=str(object_id)[:64], reason=reason[:500],
                           outcome=outcome, detail=detail[:500])
        self.db.add(entry)
        self.db.flush()
        return entry

    def entries(self, *, before_id: int | None = None, actor: str | None = None,
                object_type: str | None = None, object_id: str | None = None,
                limit: int = PAGE_SIZE) -> list[AuditEntry]:
        """Newest first."""
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(AuditEntry.id < before_id)
        if actor:
            stmt = stmt.where(AuditEntry.actor == actor)
        if object_type:
            stmt = stmt.where(AuditEntry.object_type == object_type)
        if object_id:
            stmt = stmt.where(AuditEntry.object_id == object_id)
        return list(self.db.scalars(stmt))

    def all_entries(self) -> Iterable[AuditEntry]:
        """Oldest first, streamed (the CSV export)."""
        return self.db.scalars(select(AuditEntry).order_by(AuditEntry.id)
                               .execution_options(yield_per=500))


def csv_text(entries: Iterable[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADERS)
    for e in entries:
        writer.writerow([e.id, e.at.astimezone(dt.timezone.utc).isoformat(), e.actor, e.source,
                         e.action, e.object_type, e.object_id, _cell(e.reason),
                         e.outcome, _cell(e.detail)])
    return out.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet must not run what an operator typed (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
