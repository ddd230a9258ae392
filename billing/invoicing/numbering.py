"""Gapless invoice numbers: INV-<year>-<six digits>, one sequence per year.

The year's InvoiceNumberSequence row is locked (SELECT ... FOR UPDATE) inside the finalizing
transaction, so concurrent finalizations take numbers one after the other, and a rolled-back
finalization gives its number back with everything else.
"""

from django.db import transaction

from billing.models import InvoiceNumberSequence


def invoice_number_next(*, year: int) -> str:
    """Take the next number of the year. Must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoice_number_next must run inside the finalizing transaction.")
    # Creating the year's row cannot race: a concurrent insert of the same year is ignored.
    InvoiceNumberSequence.objects.bulk_create([InvoiceNumberSequence(year=year)], ignore_conflicts=True)
    sequence = InvoiceNumberSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return invoice_number_format(year=year, number=sequence.last_number)


def invoice_number_format(*, year: int, number: int) -> str:
    return f"INV-{year}-{number:06d}"
