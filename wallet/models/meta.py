from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from ledgerlib import NAMING_CONVENTION, UTCDateTime

__all__ = ["Base", "UTCDateTime"]


class Base(DeclarativeBase):
    """Declarative base of the wallet's own tables (ledgerlib has its own metadata)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
