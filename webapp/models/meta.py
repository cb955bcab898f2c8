from sqlalchemy.orm import DeclarativeBase

from ledgerlib.schema import NAMING_CONVENTION, UTCDateTime  # noqa: F401 - re-exported
from sqlalchemy import MetaData


class Base(DeclarativeBase):
    """Declarative base of the wallet's own tables (ledgerlib has its own metadata)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
