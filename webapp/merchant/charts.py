"""The dashboard's bar charts: gross, refunds and net per day or month, with
their axes -- round rupee amounts up the side (Indian grouping: ₹1,50,000),
days or months along the bottom, fewer of them on a phone.

The page's Content-Security-Policy allows no inline style, so nothing is
placed by a computed style: the bars are SVG geometry in a box stretched to
the chart's width; the amounts are evenly spaced labels beside it (the ticks
are evenly spaced by construction) and the periods one cell each of a grid
as many columns wide as there are bars (webapp/static/style.css)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ledgerlib import format_paise
from wallet.merchants.reports import PeriodFigures

CHART_HEIGHT = 140
#: At most this many steps between the lowest and the highest amount shown.
MOST_STEPS = 4
#: The chart's series: (attribute of PeriodFigures, its name).
SERIES = (("gross_paise", "Payments in"), ("refunds_paise", "Refunds"), ("net_paise", "Net"))


def nice_step(low: int, high: int, most: int = MOST_STEPS) -> int:
    """The smallest round step (₹1, 2, 2.5 (from ₹25), 5 × 10^k, in paise)
    whose multiples reach from at or below ``low`` to at or above ``high``
    in at most ``most`` steps."""
    for power in range(2, 19):
        unit = int(10 ** power)
        steps = [unit, 2 * unit, unit * 25 // 10, 5 * unit] if power >= 3 else [
            unit, 2 * unit, 5 * unit]
        for step in steps:
            if -(-high // step) - low // step <= most:
                return step
    raise ValueError("amount out of range")


def axis_ticks(low: int, high: int, most: int = MOST_STEPS) -> list[int]:
    """Round amounts in paise, evenly spaced, from at or below ``low`` (<= 0)
    to at or above ``high`` (>= 0), ascending; nothing at all: ₹0 to ₹1."""
    if low == high == 0:
        high = 100
    step = nice_step(low, high, most)
    return list(range(low // step * step, -(-high // step) * step + 1, step))


def rupees(paise: int) -> str:
    """A round amount as the axis says it: ₹1,50,000 (no paise when none)."""
    return format_paise(paise).removesuffix(".00")


def figures_chart(figures: Sequence[PeriodFigures], label: Callable[[PeriodFigures], str],
                  tick: Callable[[int, PeriodFigures], str | None],
                  phone_every: int = 2) -> dict[str, Any]:
    """SVG geometry of a bar chart of gross, refunds and net per period, three
    bars side by side (drawn by the template); net may go below the zero line.
    ``label``: a period's name in the bars' titles; ``tick``: its label on
    the axis (by index; None: none), every ``phone_every``-th of them kept on
    a phone (counted back from the newest)."""
    values = [[int(getattr(f, name)) for name, _ in SERIES] for f in figures]
    ticks = axis_ticks(min(0, *(v for row in values for v in row)),
                       max((v for row in values for v in row), default=0))
    bottom, top = ticks[0], ticks[-1]
    span = top - bottom

    def y_of(paise: int) -> float:
        return round(CHART_HEIGHT * (top - paise) / span, 2)

    zero_y = y_of(0)
    slot = 100 / len(figures)
    width = slot * 0.84 / len(SERIES)
    bars: list[dict[str, Any]] = []
    for i, (figure, row) in enumerate(zip(figures, values, strict=True)):
        for j, ((name, title), value) in enumerate(zip(SERIES, row, strict=True)):
            height = round(abs(y_of(value) - zero_y), 2)
            bars.append({"x": round(i * slot + slot * 0.08 + j * width, 2),
                         "width": round(width * 0.9, 2),
                         "y": zero_y - height if value >= 0 else zero_y, "height": height,
                         "series": name.removesuffix("_paise"),
                         "label": f"{label(figure)} · {title}", "amount": format_paise(value)})
    shown = [(i, tick(i, figure)) for i, figure in enumerate(figures)]
    labelled = [i for i, text in shown if text]
    newest = labelled[-1] if labelled else 0
    x_labels = [{"text": text or "",
                 "minor": bool(text) and (labelled.index(newest) - labelled.index(i))
                 % phone_every != 0} for i, text in shown]
    return {"bars": bars, "height": CHART_HEIGHT, "zero_y": zero_y, "columns": len(figures),
            "ticks": [{"label": rupees(t), "y": y_of(t), "zero": t == 0}
                      for t in reversed(ticks)],
            "x_labels": x_labels,
            "series": [(name.removesuffix("_paise"), title) for name, title in SERIES],
            "peak": format_paise(max((v for row in values for v in row), default=0))}


def day_tick(every: int, count: int) -> Callable[[int, PeriodFigures], str | None]:
    """Every ``every``-th day of ``count`` labelled ("5 Nov"), the newest among them."""
    def tick(i: int, figure: PeriodFigures) -> str | None:
        day = figure.period_start
        return f"{day.day} {day:%b}" if (count - 1 - i) % every == 0 else None
    return tick


def month_tick(i: int, figure: PeriodFigures) -> str | None:
    """Each month ("Mar"), with its year on the first shown and on January ("Jan ’26")."""
    month = figure.period_start
    return f"{month:%b} ’{month:%y}" if i == 0 or month.month == 1 else f"{month:%b}"
