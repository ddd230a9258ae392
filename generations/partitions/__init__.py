"""Monthly partitions of generations and gateway records on PostgreSQL.

Both tables are partitioned by range of `created_at` (the generation's time; a gateway record
carries a copy), one partition a calendar month (UTC), plus a DEFAULT partition so that a
generation whose month has no partition yet is stored, never refused or dropped. The monthly
job (`partitions_ensure`, beat task `generations.tasks.ensure_month_partitions`, command
`manage.py partitions`) creates the coming months ahead of time and moves whatever the DEFAULT
partition holds into its month's new partition. It is idempotent: a month that has its
partition is left alone.

Why the tables look as they do: generations/partitions/conversion.py. On SQLite nothing here
does anything: the tables are plain tables.
"""

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from lib.months import Month

PARTITIONED_TABLES = ("generations_generation", "generations_gatewayrecord")
IDENTITY_TABLE = "generations_generation_identity"
# While rows move out of a DEFAULT partition, the generations' delete trigger keeps their
# identities (they are inserted again in their month's partition).
MOVING_SETTING = "tally.moving_partitions"


def partition_name(table: str, month: Month) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def is_partitioned(table: str = PARTITIONED_TABLES[0]) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [table])
        return cursor.fetchone() is not None


def existing_partitions(cursor, table: str) -> set[str]:
    cursor.execute(
        "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = inhrelid "
        "WHERE inhparent = to_regclass(%s)",
        [table],
    )
    return {name for (name,) in cursor.fetchall()}


def partition_create(cursor, *, table: str, month: Month) -> bool:
    """Create `table`'s partition for `month` unless it exists; True if created. The new table is
    made on its own, filled with that month's rows waiting in the DEFAULT partition (PostgreSQL
    refuses a partition whose rows sit in DEFAULT), then attached: ATTACH takes a lighter lock on
    the parent than CREATE TABLE ... PARTITION OF, so ingest goes on meanwhile."""
    name = partition_name(table, month)
    if name in existing_partitions(cursor, table):
        return False
    default = default_partition_name(table)
    cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {default} WHERE created_at >= %s AND created_at < %s)",
        [month.start, month.end],
    )
    if cursor.fetchone()[0]:
        cursor.execute(f"SET LOCAL {MOVING_SETTING} = 'on'")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE created_at >= %s AND created_at < %s RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved",
            [month.start, month.end],
        )
        cursor.execute(f"SET LOCAL {MOVING_SETTING} = 'off'")
    cursor.execute(
        f"ALTER TABLE {table} ATTACH PARTITION {name} "
        f"FOR VALUES FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"
    )
    return True


def months_to_create(*, months_ahead: int, now: datetime | None = None) -> list[Month]:
    """This month and the `months_ahead` after it, and every month the DEFAULT partitions hold."""
    this_month = Month.of(now or timezone.now())
    months = {this_month.shifted(offset) for offset in range(months_ahead + 1)}
    with connection.cursor() as cursor:
        for table in PARTITIONED_TABLES:
            cursor.execute(
                "SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') "
                f"FROM {default_partition_name(table)}"
            )
            months.update(Month.of(moment) for (moment,) in cursor.fetchall())
    return sorted(months, key=lambda month: (month.year, month.month))


def partitions_ensure(*, months_ahead: int | None = None, now: datetime | None = None) -> list[str]:
    """Create this month's and the coming months' partitions (TALLY_PARTITION_MONTHS_AHEAD by
    default) and those of any month waiting in a DEFAULT partition; the names created. Nothing
    on SQLite or before the tables are partitioned."""
    if not is_partitioned():
        return []
    if months_ahead is None:
        months_ahead = settings.TALLY_PARTITION_MONTHS_AHEAD
    created = []
    for month in months_to_create(months_ahead=months_ahead, now=now):
        # One transaction a month: a month's generations and their gateway records move together.
        with transaction.atomic(), connection.cursor() as cursor:
            for table in PARTITIONED_TABLES:
                if partition_create(cursor, table=table, month=month):
                    created.append(partition_name(table, month))
    return created
