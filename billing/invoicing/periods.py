"""Billing periods: calendar months in UTC, named by their first day."""

from datetime import UTC, date, datetime, time


def period_of(day: date) -> date:
    return day.replace(day=1)


def period_next(period: date) -> date:
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def period_previous(period: date) -> date:
    period = period_of(period)
    return date(period.year - 1, 12, 1) if period.month == 1 else date(period.year, period.month - 1, 1)


def period_bounds(period: date) -> tuple[datetime, datetime]:
    """The period as a half-open UTC datetime range [start, end)."""
    return (
        datetime.combine(period, time.min, tzinfo=UTC),
        datetime.combine(period_next(period), time.min, tzinfo=UTC),
    )


def period_parse(text: str) -> date:
    """'2026-03' -> date(2026, 3, 1); a clear ValueError for anything else."""
    try:
        parsed = datetime.strptime(text.strip(), "%Y-%m")
    except ValueError:
        raise ValueError(f"A period is a month written YYYY-MM, e.g. 2026-03; got {text!r}.") from None
    return parsed.date()
