"""The rows of a key's spend page, written once in Python.

The page lists a month's days, its models and its latest generations: over a hundred rows of
several cells each. A template variable per cell cost more than the queries behind them, so each
table's rows are written here, as Django admin writes its change lists' rows: the strings the page
shows come from billing.money (amounts stay Decimal until then), and every cell is escaped as
Django's `escape` does (`html.escape`) unless it is already safe markup: what format_html does,
without its per-cell cost (lazy-string checks and a SafeString per cell, some 1,400 cells a page).
The templates place the rows and keep everything around them.
"""

import html
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.utils import timezone
from django.utils.safestring import SafeData, SafeString, mark_safe

from billing.charts import DayPoint
from billing.coverage.models import CoverageStatus
from billing.coverage.selectors import DayCoverage
from billing.discrepancy_kinds import kind_info
from billing.money import money_text, percent_text
from billing.selectors import SpendRow
from generations.models import Generation, GenerationState

NO_FINDINGS_NAMED = "What was found"


def day_label(day: date) -> str:
    """"Mon 1 Sep", as the date filter writes "D j M"."""
    return f"{day:%a} {day.day} {day:%b}"


def _cell(value: object) -> str:
    """A cell's text for HTML: escaped, unless it is already safe markup (conditional_escape)."""
    return str(value) if isinstance(value, SafeData) else html.escape(str(value))


def _filled(template: str, cells: Iterable[object]) -> str:
    """`template` with each of `cells` escaped into its `{}` in turn, as format_html does."""
    return template.format(*map(_cell, cells))


def _markup(template: str, *cells: object) -> SafeString:
    return mark_safe(_filled(template, cells))


def _rows(template: str, rows: Iterable[Sequence[object]]) -> SafeString:
    """`template` written once per row of cells."""
    return mark_safe("".join([_filled(template, cells) for cells in rows]))


_DAY_ROW = '<tr><th scope="row">{}</th><td class="num">{}</td><td class="num">{}</td><td>{}{}</td></tr>\n'
_REASON = ' <span class="muted">({})</span>'


def day_rows(points: Iterable[DayPoint]) -> SafeString:
    """The daily table's rows: the day, recorded and charged spend, and its coverage."""
    return _rows(
        _DAY_ROW,
        (
            (
                day_label(point.day),
                money_text(point.recorded),
                money_text(point.charged),
                point.coverage.label if point.coverage else "",
                _markup(_REASON, point.coverage.reason) if point.coverage and point.coverage.reason else "",
            )
            for point in points
        ),
    )


_COVERAGE_DAY = (
    '<li class="coverage-day coverage-day--{}" data-day="{}" data-status="{}" title="{}: {}{}">'
    '{}<span class="visually-hidden">: {}{}</span></li>\n'
)


def coverage_days(days: Iterable[DayCoverage]) -> SafeString:
    """The coverage strip: one item per day, its status as a class, a title and hidden text."""
    items = []
    for day in days:
        reason = f" ({day.reason})" if day.reason else ""
        label = day_label(day.day)
        items.append(
            (day.status, day.day.isoformat(), day.status, label, day.label, reason, day.day.day, day.label, reason)
        )
    return _rows(_COVERAGE_DAY, items)


def differed_days(days: Iterable[DayCoverage]) -> list[dict[str, str]]:
    """The days whose gateway bill differs from the records, for the strip's summary: "Sep 1"
    and the day's unrecorded spend ("" when none)."""
    return [
        {"label": f"{day.day:%b} {day.day.day}", "unrecorded": money_text(day.unrecorded) if day.unrecorded else ""}
        for day in days
        if day.status == CoverageStatus.DIFFERED
    ]


_MODEL_ROW = (
    '<tr><th scope="row" class="mono nowrap">{}</th><td class="num">{}</td><td class="num">{}</td>'
    '<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>\n'
)


def model_rows(rows: Iterable[SpendRow]) -> SafeString:
    """The month's models: generations, tokens, recorded and charged spend, verified share."""
    return _rows(
        _MODEL_ROW,
        (
            (
                row.key,
                f"{row.generations:,}",
                f"{row.tokens:,}",
                money_text(row.recorded_cost),
                money_text(row.charged_cost),
                percent_text(row.verified_share),
            )
            for row in rows
        ),
    )


_GENERATION_ROW = (
    '<tr><td class="nowrap">{}</td>'
    '<td><a class="mono truncate" href="{}" title="{}">{}</a></td>'
    '<td class="mono"><span class="truncate truncate--model" title="{}">{}</span></td>'
    '<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>'
    '<td><span class="badge badge--{}">{}</span>{}</td></tr>\n'
)
_FINDINGS_LINK = (
    ' <a class="finding-link" href="{}">{}<span class="visually-hidden"> for generation {}</span></a>'
)


def generation_rows(generations: Iterable[Generation], *, url_prefix: str) -> SafeString:
    """Rows of generations read by billing.selectors.key_recent_generations (with their
    `error_kinds`); each links to `url_prefix` + its id + "/". A disputed generation names
    what was found."""
    rows = []
    for generation in generations:
        href = f"{url_prefix}{generation.pk}/"
        findings = ""
        if generation.state == GenerationState.DISPUTED:
            names = ", ".join(kind_info(kind).name for kind in generation.error_kinds) or NO_FINDINGS_NAMED
            findings = _markup(_FINDINGS_LINK, href, names, generation.external_id)
        rows.append(
            (
                _created_label(generation.created_at),
                href,
                generation.external_id,
                generation.external_id,
                generation.model,
                generation.model,
                f"{generation.tokens_prompt + generation.tokens_completion:,}",
                money_text(generation.cost),
                money_text(generation.charged_cost),
                generation.state,
                generation.state[:1].upper() + generation.state[1:],
                findings,
            )
        )
    return _rows(_GENERATION_ROW, rows)


def _created_label(moment: datetime) -> str:
    """"Sep 30, 23:59", as the date filter writes "M j, H:i"."""
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local:%H:%M}"
