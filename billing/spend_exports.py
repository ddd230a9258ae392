"""CSV download of one key's generations in one month, streamed row by row.

A busy key has millions of generations a month: rows are read in chunks through the
(api_key, created_at) index and written as they come, never held in memory.
"""

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from accounts.models import ApiKey
from billing.csv_cells import csv_text
from generations.models import Generation

CHUNK_SIZE = 2000
# (CSV column, generation field), in the order they are written.
EXPORTED = (
    ("id", "external_id"),
    ("gateway", "gateway__slug"),
    ("created_at", "created_at"),
    ("model", "model"),
    ("tokens_prompt", "tokens_prompt"),
    ("tokens_completion", "tokens_completion"),
    ("tokens_cached", "tokens_cached"),
    ("tokens_reasoning", "tokens_reasoning"),
    ("recorded_cost", "cost"),
    ("charged_cost", "charged_cost"),
    ("state", "state"),
)
HEADER = tuple(column for column, _ in EXPORTED)
FIELDS = tuple(field for _, field in EXPORTED)


class _Echo:
    """A file-like object whose write returns what it was given, for csv.writer to stream."""

    def write(self, value: str) -> str:
        return value


def spend_export_response(*, api_key: ApiKey, start: datetime, end: datetime, month_label: str) -> StreamingHttpResponse:
    """A streaming CSV response of the key's generations created in [start, end)."""
    response = StreamingHttpResponse(spend_export_lines(api_key=api_key, start=start, end=end), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="tally-{api_key.slug}-{month_label}.csv"'
    return response


def spend_export_lines(*, api_key: ApiKey, start: datetime, end: datetime) -> Iterator[str]:
    """The CSV, one line at a time, header first, generations in creation order."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for row in spend_export_rows(api_key=api_key, start=start, end=end).iterator(chunk_size=CHUNK_SIZE):
        yield writer.writerow(_cells(row))


def spend_export_rows(*, api_key: ApiKey, start: datetime, end: datetime) -> QuerySet:
    """The exported columns of the key's generations in [start, end), served by the
    (api_key, created_at) index in creation order."""
    return (
        Generation.objects.filter(api_key=api_key, created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "id")
        .values_list(*FIELDS)
    )


def _cells(row: tuple) -> list[str]:
    external_id, gateway, created_at, model, *tokens, cost, charged_cost, state = row
    return [
        csv_text(external_id),
        csv_text(gateway),
        created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        csv_text(model),
        *(str(count) for count in tokens),
        _amount(cost),
        _amount(charged_cost),
        csv_text(state),
    ]


def _amount(value: Decimal | None) -> str:
    # Fixed-point: str() would write 3.75E-8 for a tiny amount.
    return "" if value is None else format(value, "f")

