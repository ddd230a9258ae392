"""The lines of a draft before they are written: plain values, and how they are written.

Closing a month makes tens of thousands of lines; building each as an InvoiceLine model instance
cost more than the SQL that reads the month. A DraftLine holds the same values under the same
names as InvoiceLine's columns (its attnames), so it is written as it is: with COPY on
PostgreSQL, as model instances through bulk_create elsewhere.
"""

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from operator import attrgetter

from django.db import connection

from billing.models import InvoiceLine


@dataclass(slots=True)
class DraftLine:
    """One line of a draft, named as InvoiceLine's columns are."""

    invoice_id: int
    kind: str
    api_key_id: int
    key_name: str
    model: str
    description: str
    generations: int
    amount_exact: Decimal
    amount: Decimal
    verified_amount: Decimal
    tokens: int = 0
    usage_period: date | None = None
    discrepancy_id: int | None = None


def _columns() -> list:
    return [field for field in InvoiceLine._meta.concrete_fields if not field.primary_key]


def draft_lines_insert(lines: list[DraftLine]) -> None:
    """Insert the lines of drafts: with COPY on PostgreSQL, bulk_create elsewhere.

    COPY takes the values as they are: they were made by drafting, already rounded to their
    columns and checked against them (billing/invoicing/bounds.py). A column DraftLine lacks is
    an AttributeError here, never a silently defaulted value."""
    fields = _columns()
    values_of = attrgetter(*(field.attname for field in fields))
    if connection.vendor != "postgresql":
        InvoiceLine.objects.bulk_create([InvoiceLine(**asdict(line)) for line in lines], batch_size=5000)
        return
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(InvoiceLine._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for line in lines:
            copy.write_row(values_of(line))
