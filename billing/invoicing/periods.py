"""Billing periods: calendar months in UTC, named by their first day."""

from datetime import date, datetime

from lib.months import Month


def period_of(day: date) -> date:
    return day.replace(day=1)


def period_next(period: date) -> date:
    return Month.of(period).shifted(1).first_day


def period_previous(period: date) -> date:
    return Month.of(period).shifted(-1).first_day


def period_bounds(period: date) -> tuple[datetime, datetime]:
    """The period as a half-open UTC datetime range [start, end)."""
    month = Month.of(period)
    return month.start, month.end


# Months Tally can bill: a month's end must be a date too (9999-12 ends in year 10000).
FIRST_PERIOD = date(2000, 1, 1)
LAST_PERIOD = date(9999, 11, 1)


def period_parse(text: str) -> date:
    """'2026-03' -> date(2026, 3, 1); a clear one-line ValueError for anything else."""
    shown = repr(text[:20] + ("…" if len(text) > 20 else ""))
    try:
        parsed = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise ValueError(f"A period is a month written YYYY-MM, e.g. 2026-03; got {shown}.") from None
    if not FIRST_PERIOD <= parsed <= LAST_PERIOD:
        raise ValueError(
            f"{parsed:%Y-%m} is out of range: periods run from {FIRST_PERIOD:%Y-%m} to {LAST_PERIOD:%Y-%m}."
        )
    return parsed


def period_has_ended(period: date, *, today: date) -> bool:
    """Whether the whole month is in the past (UTC): only then can its invoice be final."""
    return period_next(period_of(period)) <= today


def period_check_not_future(period: date, *, today: date) -> None:
    """ValueError when the month has not started yet: there is nothing to draft for it."""
    if period_of(period) > today:
        raise ValueError(f"{period:%Y-%m} has not started yet (today is {today:%Y-%m-%d} UTC).")
