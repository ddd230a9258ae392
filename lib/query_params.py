"""Reading API query parameters: a clear 400 for a bad value, never a database error.

A NUL character, for instance, is legal in a URL but not in a PostgreSQL string: it is
refused here, before any query sees it.
"""

from collections.abc import Iterable
from datetime import date, datetime, timezone

from django.db.models import QuerySet
from rest_framework.exceptions import ParseError

MAX_LENGTH = 255


def _invalid(name: str, message: str) -> ParseError:
    return ParseError(f"Query parameter {name!r}: {message}")


def text_param(request, name: str, *, max_length: int = MAX_LENGTH) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_length:
        raise _invalid(name, f"At most {max_length} characters.")
    if "\x00" in value:
        raise _invalid(name, "Must not contain NUL characters.")
    return value


def choice_param(request, name: str, choices: Iterable[str]) -> str | None:
    value = text_param(request, name)
    allowed = list(choices)
    if value is not None and value not in allowed:
        raise _invalid(name, f"Must be one of: {', '.join(allowed)}.")
    return value


def boolean_param(request, name: str) -> bool | None:
    value = choice_param(request, name, ("true", "false"))
    return None if value is None else value == "true"


def integer_param(request, name: str, *, minimum: int, maximum: int) -> int | None:
    value = text_param(request, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 12 or not minimum <= int(value) <= maximum:
        raise _invalid(name, f"Must be a whole number from {minimum} to {maximum}.")
    return int(value)


def datetime_param(request, name: str) -> datetime | None:
    """An ISO 8601 date and time with its UTC offset ('+' written as %2B in a URL, or Z)."""
    value = text_param(request, name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(name, "Must be an ISO 8601 date and time, e.g. 2026-01-31T12:00:00Z.") from None
    if parsed.utcoffset() is None:
        raise _invalid(name, "Must include a UTC offset, e.g. 2026-01-31T12:00:00Z.")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise _invalid(name, "Out of range.") from None


def date_param(request, name: str) -> date | None:
    value = text_param(request, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(name, "Must be a date, YYYY-MM-DD.") from None


def filtered(queryset: QuerySet, lookups: dict) -> QuerySet:
    """The queryset narrowed by every lookup whose value was given."""
    return queryset.filter(**{lookup: value for lookup, value in lookups.items() if value is not None})
