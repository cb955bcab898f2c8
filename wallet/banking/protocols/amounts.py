"""Money as banks that speak in decimal strings write it, ``{"value":
"500.50", "currency": "INR"}``, read strictly into paise (never through a
float) and written back the same way."""
from __future__ import annotations

import re

from ...core.codes import CURRENCY

#: Rupees and exactly two decimals: "0.01", "500.50"; not "10.5", "1e3",
#: "-5.00", "+5.00", "05.00", "1,000.00", " 5.00" or "5.000".
_RUPEES = re.compile(r"(0|[1-9][0-9]{0,12})\.([0-9]{2})", re.ASCII)


class AmountError(ValueError):
    """An amount that is not exactly one we can take: the message says why."""


def paise_from_money(money: object, where: str) -> int:
    """The paise of a ``{"value": "<rupees>.<2 digits>", "currency": "INR"}``
    object (``where``: its place in the document, for the message)."""
    if not isinstance(money, dict):
        raise AmountError(f'{where} must be an object like {{"value": "500.50", '
                          f'"currency": "INR"}}')
    if set(money) != {"value", "currency"}:
        raise AmountError(f"{where} must have exactly the fields value and currency")
    currency, value = money["currency"], money["value"]
    if currency != CURRENCY:
        shown = currency if isinstance(currency, str) else repr(currency)
        raise AmountError(f"{where}.currency must be {CURRENCY}, not {shown[:10]}")
    if not isinstance(value, str):
        raise AmountError(f'{where}.value must be a string like "500.50", not a JSON '
                          f"{type(value).__name__}")
    match = _RUPEES.fullmatch(value)
    if match is None:
        raise AmountError(f'{where}.value "{value[:20]}" must be rupees with exactly two '
                          f'decimals, like "500.50"')
    paise = int(match.group(1)) * 100 + int(match.group(2))
    if paise == 0:
        raise AmountError(f"{where}.value must be more than zero")
    return paise


def money_from_paise(paise: int) -> dict[str, str]:
    """``paise`` as such an object (the inverse of :func:`paise_from_money`)."""
    if isinstance(paise, bool) or not isinstance(paise, int) or paise <= 0:
        raise ValueError(f"an amount to send is a positive number of paise, not {paise!r}")
    return {"value": f"{paise // 100}.{paise % 100:02d}", "currency": CURRENCY}
