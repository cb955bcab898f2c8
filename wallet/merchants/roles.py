"""Who in a shop may do what: the roles of its people and the permissions
the merchant app's pages and the merchant API's operations ask for.

One table (:data:`ROLE_PERMISSIONS`); every merchant view names one of the
:class:`Permission` members, never "authenticated" alone, so a new page or
operation without a rule is caught by the route table's test."""
from __future__ import annotations

from enum import StrEnum

__all__ = ["Permission", "Role", "ROLE_PERMISSIONS", "role_permits"]


class Role(StrEnum):
    #: Everything: money out, keys, settings, people.
    OWNER = "owner"
    #: Payments, refunds, links, disputes and reports of their stores.
    MANAGER = "manager"
    #: Its store's payments as they come in and today's total; nothing else.
    CASHIER = "cashier"


class Permission(StrEnum):
    VIEW_PAYMENTS = "merchant:view_payments"
    COUNTER = "merchant:counter"
    REFUND = "merchant:refund"
    REPORTS = "merchant:reports"
    LINKS = "merchant:links"
    DISPUTES = "merchant:disputes"
    SETTLE = "merchant:settle"
    KEYS = "merchant:keys"
    SETTINGS = "merchant:settings"
    STAFF = "merchant:staff"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.MANAGER: frozenset({Permission.VIEW_PAYMENTS, Permission.COUNTER, Permission.REFUND,
                             Permission.REPORTS, Permission.LINKS, Permission.DISPUTES}),
    Role.CASHIER: frozenset({Permission.VIEW_PAYMENTS, Permission.COUNTER}),
}


def role_permits(role: str, permission: str) -> bool:
    try:
        return Permission(permission) in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
