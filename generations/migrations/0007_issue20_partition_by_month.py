"""On PostgreSQL, generations and gateway records partitioned by month (the shape and why:
generations/partitions/conversion.py). Existing rows move into their months' partitions. Django's
model state does not change; on SQLite nothing happens. Not reversible on PostgreSQL."""

from django.conf import settings
from django.db import migrations
from django.db.migrations.exceptions import IrreversibleError


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from generations.partitions import is_partitioned
    from generations.partitions.conversion import convert

    if is_partitioned():
        return
    with schema_editor.connection.cursor() as cursor:
        convert(cursor, months_ahead=settings.TALLY_PARTITION_MONTHS_AHEAD)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        raise IrreversibleError(
            "generations 0007: the monthly partitions are not turned back into plain tables"
        )


class Migration(migrations.Migration):
    dependencies = [("generations", "0006_issue20_gatewayrecord_month"), ("billing", "0013_merge_coverage")]

    operations = [migrations.RunPython(partition, unpartition)]
