"""A server-side SVG chart of one key's spend per day, recorded against charged.

Drawn here rather than in the browser so the page needs no JavaScript and no network. Colours come
from the page's stylesheet (the `chart-*` classes), so the chart follows the one palette. Amounts
stay Decimal; only pixel positions are derived from them.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from billing.coverage.models import CoverageStatus
from billing.coverage.selectors import DayCoverage
from billing.money import money_text as money
from billing.money import money_tick_text
from billing.selectors import SpendRow

WIDTH = 720
HEIGHT = 260
MARGIN_LEFT = 64
MARGIN_RIGHT = 12
MARGIN_TOP = 14
MARGIN_BOTTOM = 30
# Tick labels are 11px tabular figures: about this many pixels a character, plus the gap to the axis.
LABEL_CHAR_WIDTH = Decimal("6.6")
LABEL_GAP = 8
PLOT_HEIGHT = Decimal(HEIGHT - MARGIN_TOP - MARGIN_BOTTOM)
TICKS = 4
# Of each day's slot, the part each of the two bars takes (the rest is the gap between days).
BAR_SHARE = Decimal("0.36")
PIXEL = Decimal("0.1")


@dataclass(frozen=True)
class DayPoint:
    day: date
    recorded: Decimal
    charged: Decimal
    coverage: DayCoverage | None = None

    @property
    def differed(self) -> bool:
        """The gateway's activity for the day disagreed with Tally's records (a coverage finding)."""
        return self.coverage is not None and self.coverage.status == CoverageStatus.DIFFERED


def daily_points(
    *, rows: Iterable[SpendRow], start: date, end: date, coverage: dict[date, DayCoverage] | None = None
) -> list[DayPoint]:
    """One point per day from start (inclusive) to end (exclusive); days without spend are zero.
    With `coverage`, each point carries what is known of the day's coverage."""
    by_day = {row.key: row for row in rows}
    points = []
    day = start
    while day < end:
        row = by_day.get(day)
        points.append(
            DayPoint(
                day=day,
                recorded=row.recorded_cost if row else Decimal(0),
                charged=row.charged_cost if row else Decimal(0),
                coverage=(coverage or {}).get(day),
            )
        )
        day += timedelta(days=1)
    return points


def axis_step(highest: Decimal) -> Decimal:
    """A round tick interval (1, 2 or 5 times a power of ten) so that TICKS of them cover `highest`."""
    if highest <= 0:
        return Decimal("0.25")
    raw = highest / TICKS
    base = Decimal(1).scaleb(raw.adjusted())
    for multiple in (1, 2, 5, 10):
        if base * multiple >= raw:
            return base * multiple
    raise AssertionError("unreachable: 10 x base always covers raw")


def _pixels(value: Decimal) -> str:
    return str(value.quantize(PIXEL, rounding=ROUND_HALF_EVEN))


def daily_spend_chart(*, points: list[DayPoint], chart_id: str, title: str) -> SafeString:
    """The chart as inline SVG, titled and described for screen readers, one tooltip per day."""
    step = axis_step(max((max(p.recorded, p.charged) for p in points), default=Decimal(0)))
    top = step * TICKS
    labels = [money_tick_text(step * tick, step) for tick in range(TICKS + 1)]
    # The left margin grows with the longest tick label, so "$0.0002" is never cut off.
    margin_left = max(MARGIN_LEFT, int(LABEL_CHAR_WIDTH * max(len(label) for label in labels)) + LABEL_GAP + 4)
    plot_width = Decimal(WIDTH - margin_left - MARGIN_RIGHT)
    slot = plot_width / max(len(points), 1)
    bar = slot * BAR_SHARE
    baseline = Decimal(MARGIN_TOP) + PLOT_HEIGHT

    def y_of(amount: Decimal) -> Decimal:
        return baseline - PLOT_HEIGHT * amount / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" preserveAspectRatio="xMidYMid meet" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_description(points))}</desc>',
    ]
    for tick, label in enumerate(labels):
        y = _pixels(y_of(step * tick))
        parts.append(
            f'<line class="chart-grid" x1="{margin_left}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y}" y2="{y}"/>'
            f'<text class="chart-label" x="{margin_left - LABEL_GAP}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(label)}</text>'
        )
    for index, point in enumerate(points):
        left = Decimal(margin_left) + slot * index + (slot - 2 * bar) / 2
        parts.append(
            f"<g><title>{escape(_day_label(point))}</title>"
            f'<rect class="chart-hit" x="{_pixels(Decimal(margin_left) + slot * index)}" y="{MARGIN_TOP}" '
            f'width="{_pixels(slot)}" height="{_pixels(PLOT_HEIGHT)}"/>'
            f"{_bar('chart-recorded', left, bar, y_of(point.recorded), baseline)}"
            f"{_bar('chart-charged', left + bar, bar, y_of(point.charged), baseline)}"
            f"{_flag(Decimal(MARGIN_LEFT) + slot * index + slot / 2) if point.differed else ''}</g>"
        )
        if point.day.day == 1 or point.day.day % 5 == 0:
            x = _pixels(Decimal(margin_left) + slot * index + slot / 2)
            parts.append(
                f'<text class="chart-label" x="{x}" y="{HEIGHT - 10}" text-anchor="middle">{point.day.day}</text>'
            )
    parts.append(
        f'<line class="chart-axis" x1="{margin_left}" x2="{WIDTH - MARGIN_RIGHT}" '
        f'y1="{_pixels(baseline)}" y2="{_pixels(baseline)}"/></svg>'
    )
    return mark_safe("".join(parts))  # every interpolated text above is escaped


def _bar(css_class: str, left: Decimal, width: Decimal, top: Decimal, baseline: Decimal) -> str:
    return (
        f'<rect class="{css_class}" x="{_pixels(left)}" y="{_pixels(top)}" '
        f'width="{_pixels(width)}" height="{_pixels(baseline - top)}" rx="1.5"/>'
    )


def _flag(center: Decimal) -> str:
    """A downward triangle above the day: the gateway billed this day differently from Tally's records."""
    top = Decimal(MARGIN_TOP) - 2
    return (
        f'<path class="chart-flag" data-flag="coverage" d="M{_pixels(center - 5)} {_pixels(top)} '
        f'L{_pixels(center + 5)} {_pixels(top)} L{_pixels(center)} {_pixels(top + 8)} Z"/>'
    )


def _day_label(point: DayPoint) -> str:
    label = f"{point.day:%b} {point.day.day}: recorded {money(point.recorded)}, charged {money(point.charged)}"
    if point.coverage is not None:
        label += f"; coverage: {point.coverage.label.lower()}"
        if point.coverage.unrecorded:
            label += f", {money(point.coverage.unrecorded)} billed that Tally holds no records for"
    return label


def _description(points: list[DayPoint]) -> str:
    if not points:
        return "No days to show."
    recorded = sum((point.recorded for point in points), Decimal(0))
    charged = sum((point.charged for point in points), Decimal(0))
    first, last = points[0].day, points[-1].day
    summary = (
        f"Bars per day from {first:%B} {first.day} to {last:%B} {last.day}: "
        f"recorded {money(recorded)} in total, charged {money(charged)}."
    )
    differed = [point for point in points if point.differed]
    if differed:
        days = ", ".join(f"{point.day:%B} {point.day.day}" for point in differed)
        summary += f" Marked: the gateway's bill differs from Tally's records on {days}."
    busiest = max(points, key=lambda point: point.recorded)
    if busiest.recorded > 0:
        summary += f" Highest day: {busiest.day:%B} {busiest.day.day}, recorded {money(busiest.recorded)}."
    return summary
