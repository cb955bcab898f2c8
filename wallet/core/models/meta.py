from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

from ledgerlib import NAMING_CONVENTION, UTCDateTime

__all__ = ["Base", "UTCDateTime", "table_of"]


class Base(DeclarativeBase):
    """Declarative base of the wallet's own tables (ledgerlib has its own metadata)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """The Table a model is mapped to, for Core statements (SQLAlchemy types
    ``__table__`` as any FromClause, which ``insert()``/``update()`` refuse)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table
