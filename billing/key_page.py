"""The rows of a key's spend page, written once in Python.

The page lists a month's days, its models and its latest generations; a template filter per cell
(dates, numbers, money) cost more than the queries behind them. Each row here holds the strings
the page shows, written by billing.money (amounts stay Decimal until then); the template only
places them, and autoescapes them like any other value.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from billing.charts import DayPoint
from billing.coverage.models import CoverageStatus
from billing.coverage.selectors import DayCoverage
from billing.discrepancy_kinds import kind_info
from billing.money import money_text, percent_text
from billing.selectors import SpendRow
from generations.models import Generation, GenerationState

NO_FINDINGS_NAMED = "What was found"


@dataclass(frozen=True)
class DayRow:
    """One day of the daily table."""

    label: str  # "Mon 1 Sep"
    recorded: str
    charged: str
    coverage_label: str
    coverage_reason: str


@dataclass(frozen=True)
class CoverageItem:
    """One day of the coverage strip."""

    iso_day: str  # "2025-09-01"
    day_number: int
    status: str
    label: str  # "Mon 1 Sep"
    status_label: str
    reason: str
    differed_label: str  # "Sep 1", for a day whose gateway bill differs; "" otherwise
    unrecorded: str  # the day's unrecorded spend, "" when none


@dataclass(frozen=True)
class ModelRow:
    """One model of the month, with its spend."""

    model: str
    generations: str
    tokens: str
    recorded: str
    charged: str
    verified_share: str


@dataclass(frozen=True)
class GenerationRow:
    """One of the latest generations."""

    pk: int
    external_id: str
    model: str
    created: str  # "Sep 30, 23:59" in the current time zone
    tokens: str
    recorded: str
    charged: str
    state: str
    state_label: str
    findings: str  # the error findings' names of a disputed generation, "" for any other


def day_label(day: date) -> str:
    """"Mon 1 Sep", as the date filter writes "D j M"."""
    return f"{day:%a} {day.day} {day:%b}"


def day_rows(points: Iterable[DayPoint]) -> list[DayRow]:
    rows = []
    for point in points:
        coverage = point.coverage
        rows.append(
            DayRow(
                label=day_label(point.day),
                recorded=money_text(point.recorded),
                charged=money_text(point.charged),
                coverage_label=coverage.label if coverage else "",
                coverage_reason=coverage.reason if coverage else "",
            )
        )
    return rows


def coverage_items(days: Iterable[DayCoverage]) -> list[CoverageItem]:
    items = []
    for day in days:
        differed = day.status == CoverageStatus.DIFFERED
        items.append(
            CoverageItem(
                iso_day=day.day.isoformat(),
                day_number=day.day.day,
                status=day.status,
                label=day_label(day.day),
                status_label=day.label,
                reason=day.reason,
                differed_label=f"{day.day:%b} {day.day.day}" if differed else "",
                unrecorded=money_text(day.unrecorded) if day.unrecorded else "",
            )
        )
    return items


def model_rows(rows: Iterable[SpendRow]) -> list[ModelRow]:
    return [
        ModelRow(
            model=row.key,
            generations=f"{row.generations:,}",
            tokens=f"{row.tokens:,}",
            recorded=money_text(row.recorded_cost),
            charged=money_text(row.charged_cost),
            verified_share=percent_text(row.verified_share),
        )
        for row in rows
    ]


def generation_rows(generations: Iterable[Generation]) -> list[GenerationRow]:
    """Rows of generations read by billing.selectors.key_recent_generations (with their
    `error_kinds`)."""
    rows = []
    for generation in generations:
        disputed = generation.state == GenerationState.DISPUTED
        findings = ""
        if disputed:
            names = [kind_info(kind).name for kind in generation.error_kinds]
            findings = ", ".join(names) or NO_FINDINGS_NAMED
        rows.append(
            GenerationRow(
                pk=generation.pk,
                external_id=generation.external_id,
                model=generation.model,
                created=_created_label(generation.created_at),
                tokens=f"{generation.tokens_prompt + generation.tokens_completion:,}",
                recorded=money_text(generation.cost),
                charged=money_text(generation.charged_cost),
                state=generation.state,
                state_label=generation.state[:1].upper() + generation.state[1:],
                findings=findings,
            )
        )
    return rows


def _created_label(moment: datetime) -> str:
    """"Sep 30, 23:59", as the date filter writes "M j, H:i"."""
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local:%H:%M}"
