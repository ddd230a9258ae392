"""Cursor pagination for API lists, on a unique ordering such as (created_at, id).

Unlike offset pagination, a page is found with an index seek whatever its depth, and rows added
while a client pages through are neither skipped nor repeated. The cursor is opaque to clients:
the ordering values of the last row of the page, base64-encoded.
"""

import base64
import json
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ParseError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from lib.query_params import integer_param, text_param

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class KeysetPagination(BasePagination):
    """Pages in ascending order of the view's `keyset` (field names ending with a unique one)."""

    cursor_param = "cursor"
    limit_param = "limit"

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        keyset: Sequence[str] = view.keyset
        limit = integer_param(request, self.limit_param, minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT
        queryset = queryset.order_by(*keyset)
        cursor = text_param(request, self.cursor_param)
        if cursor:
            queryset = queryset.filter(_after(keyset, _decode(cursor, queryset.model, keyset)))
        rows = list(queryset[: limit + 1])
        self.next_url = None
        if len(rows) > limit:
            rows = rows[:limit]
            self.next_url = replace_query_param(
                request.build_absolute_uri(), self.cursor_param, _encode(rows[-1], keyset)
            )
        return rows

    def get_paginated_response(self, data) -> Response:
        return Response({"next": self.next_url, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri", "description": "The next page, if any."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_param,
                "in": "query",
                "required": False,
                "description": "Where the page starts: the `next` link of the previous page holds it.",
                "schema": {"type": "string"},
            },
            {
                "name": self.limit_param,
                "in": "query",
                "required": False,
                "description": f"Rows a page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
        ]


def _after(keyset: Sequence[str], values: list) -> Q:
    """Rows after `values` in the keyset order: (a > x) or (a = x and b > y) ..."""
    condition = Q(**{f"{keyset[-1]}__gt": values[-1]})
    for name, value in zip(reversed(keyset[:-1]), reversed(values[:-1]), strict=True):
        condition = Q(**{f"{name}__gt": value}) | (Q(**{name: value}) & condition)
    return condition


def _encode(row, keyset: Sequence[str]) -> str:
    values = [getattr(row, name) for name in keyset]
    text = json.dumps([value.isoformat() if hasattr(value, "isoformat") else value for value in values])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, model, keyset: Sequence[str]) -> list:
    invalid = ParseError("Invalid cursor: use the `next` link of a previous page as it is.")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise invalid from None
    if not isinstance(values, list) or len(values) != len(keyset):
        raise invalid
    fields = [model._meta.pk if name in ("pk", "id") else model._meta.get_field(name) for name in keyset]
    try:
        parsed = [field.to_python(value) for field, value in zip(fields, values, strict=True)]
    except (ValidationError, TypeError, ValueError, OverflowError):
        raise invalid from None
    if any(value is None or isinstance(value, (list, dict)) for value in parsed):
        raise invalid
    return parsed
