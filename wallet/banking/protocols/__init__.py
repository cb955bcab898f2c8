"""Bank protocols: each bank speaks one (``banks.<code>.protocol``, default
``standard``). To add one, write a :class:`~wallet.banking.protocols.base.BankProtocol`
in a module of its own and name it in :data:`PROTOCOLS` (docs/architecture.md,
"A seam per bank")."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .base import BankProtocol
from .ledgerline import LedgerlineProtocol
from .standard import StandardProtocol

if TYPE_CHECKING:
    from ..banks import BankConfig

DEFAULT_PROTOCOL = StandardProtocol.name
#: Every protocol by its name in the settings.
PROTOCOLS: dict[str, BankProtocol] = {
    protocol.name: protocol for protocol in (StandardProtocol(), LedgerlineProtocol())}


def protocol_for(bank: BankConfig) -> BankProtocol:
    """The protocol ``bank`` speaks (checked when the settings were loaded)."""
    return PROTOCOLS[bank.protocol]
