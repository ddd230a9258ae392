"""Turning the plain generations and gateway-record tables into monthly partitioned ones
(migration generations 0007), on PostgreSQL only.

The shape, and why:

- A partitioned table's primary key and unique indexes must include the partition key, so
  neither `id` nor `(gateway_id, external_id)` can be unique on `generations_generation` itself.
  Uniqueness lives in a narrow, unpartitioned table, `generations_generation_identity` (id,
  gateway_id, external_id, created_at): its unique constraint keeps ingest idempotent on
  (gateway, id) whatever month a repeat claims, and foreign keys to a generation (discrepancies,
  gateway records) point at its `id`. Triggers keep it in step with the generations table, so
  every writer (ingest's COPY, the ORM, the benchmark's COPY and generator) goes through the same
  structures: an insert statement adds its rows' identities in one set-based insert (a statement
  trigger with a transition table; a repeated (gateway, external_id) fails on the unique
  constraint, as it did on the table before), delete removes them, an update of the three columns
  follows, TRUNCATE empties the table.
- `generations_generation` is keyed (id, created_at); it keeps a plain (gateway_id, external_id)
  index so lookups by gateway id stay index probes.
- `generations_gatewayrecord` is keyed (generation_id, created_at), `created_at` being the
  generation's, copied when the record is written, so a month's records sit beside its
  generations and old months' raw bodies can be compacted a partition at a time.
- Django's model state does not change (the ORM still sees `id` and `generation` as keys):
  Django never relies on the database for that.

The conversion copies the rows into new partitioned tables, drops the old ones and takes their
names, then recreates from the catalogue what the old tables had: indexes, foreign keys, the
foreign keys pointing at them (now at the identity table), the id sequence.
"""

from datetime import UTC, datetime

from django.utils import timezone

from generations.partitions import (
    IDENTITY_TABLE,
    MOVING_SETTING,
    default_partition_name,
    partition_name,
)
from lib.months import Month

GENERATIONS = "generations_generation"
RECORDS = "generations_gatewayrecord"
GATEWAY_EXTERNAL_INDEX = "generation_gateway_external_id"
UNIQUE_IDENTITY = "generation_unique_gateway_external_id"
MONTHS_BEHIND = 12

TRIGGERS_SQL = f"""
CREATE FUNCTION generation_identity_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per statement, from the rows it inserted: a COPY of thousands of rows adds their
    -- identities in one set-based insert. A repeated (gateway_id, external_id) fails the statement
    -- on the unique constraint, as it failed on the table before.
    INSERT INTO {IDENTITY_TABLE} (id, gateway_id, external_id, created_at)
    SELECT id, gateway_id, external_id, created_at FROM inserted;
    RETURN NULL;
END $$;

CREATE FUNCTION generation_identity_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {IDENTITY_TABLE} SET gateway_id = NEW.gateway_id, external_id = NEW.external_id,
        created_at = NEW.created_at WHERE id = NEW.id;
    RETURN NULL;
END $$;

CREATE FUNCTION generation_identity_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Not while rows move out of a DEFAULT partition. An update that moves a row to another
    -- month's partition runs as a delete and an insert (without the update's row triggers): the
    -- identity then follows the row where it now is.
    IF coalesce(current_setting('{MOVING_SETTING}', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    UPDATE {IDENTITY_TABLE} identity SET gateway_id = moved.gateway_id, external_id = moved.external_id,
        created_at = moved.created_at
        FROM {GENERATIONS} moved WHERE moved.id = OLD.id AND identity.id = OLD.id;
    IF NOT FOUND THEN
        DELETE FROM {IDENTITY_TABLE} WHERE id = OLD.id;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION generation_identity_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {IDENTITY_TABLE};
    RETURN NULL;
END $$;

CREATE TRIGGER generation_identity_insert AFTER INSERT ON {GENERATIONS}
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION generation_identity_insert();
CREATE TRIGGER generation_identity_update AFTER UPDATE OF gateway_id, external_id, created_at ON {GENERATIONS}
    FOR EACH ROW WHEN ((OLD.gateway_id, OLD.external_id, OLD.created_at)
        IS DISTINCT FROM (NEW.gateway_id, NEW.external_id, NEW.created_at))
    EXECUTE FUNCTION generation_identity_update();
CREATE TRIGGER generation_identity_delete AFTER DELETE ON {GENERATIONS}
    FOR EACH ROW EXECUTE FUNCTION generation_identity_delete();
CREATE TRIGGER generation_identity_truncate AFTER TRUNCATE ON {GENERATIONS}
    FOR EACH STATEMENT EXECUTE FUNCTION generation_identity_truncate();
"""


def _index_definitions(cursor, table: str) -> list[str]:
    """CREATE INDEX statements of the table's indexes that back no constraint."""
    cursor.execute(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = to_regclass(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)",
        [table],
    )
    return [definition for (definition,) in cursor.fetchall()]


def _foreign_keys(cursor, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's own foreign keys."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype = 'f'",
        [table],
    )
    return cursor.fetchall()


def _foreign_keys_to(cursor, table: str) -> list[tuple[str, str, list[str]]]:
    """(table, name, columns) of other tables' foreign keys pointing at `table`."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, "
        "ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = conrelid AND attnum = ANY(conkey)) "
        "FROM pg_constraint WHERE confrelid = to_regclass(%s) AND contype = 'f' AND conrelid <> confrelid",
        [table],
    )
    return cursor.fetchall()


def _months_present(cursor, table: str) -> list[Month]:
    cursor.execute(f"SELECT min(created_at), max(created_at) FROM {table}")
    first, last = cursor.fetchone()
    if first is None:
        return []
    months, month, last = [], Month.of(first.astimezone(UTC)), Month.of(last.astimezone(UTC))
    while (month.year, month.month) <= (last.year, last.month):
        months.append(month)
        month = month.shifted(1)
    return months


def _create_partitions(cursor, *, parent: str, table: str, months: list[Month]) -> None:
    for month in months:
        bounds = f"FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"
        cursor.execute(f"CREATE TABLE {partition_name(table, month)} PARTITION OF {parent} FOR VALUES {bounds}")
    cursor.execute(f"CREATE TABLE {default_partition_name(table)} PARTITION OF {parent} DEFAULT")


def convert(cursor, *, months_ahead: int, now: datetime | None = None) -> None:
    """Partition both tables by month, rows and all, in the caller's transaction."""
    indexes = {table: _index_definitions(cursor, table) for table in (GENERATIONS, RECORDS)}
    own_keys = {table: _foreign_keys(cursor, table) for table in (GENERATIONS, RECORDS)}
    pointing = [key for key in _foreign_keys_to(cursor, GENERATIONS) if key[0] != RECORDS]
    this_month = Month.of(now or timezone.now())
    # The past year too, even if empty: late usage, imports and demo data land in their month.
    first = this_month.shifted(-MONTHS_BEHIND)
    present = _months_present(cursor, GENERATIONS)
    if present and (present[0].year, present[0].month) < (first.year, first.month):
        first = present[0]
    last = this_month.shifted(months_ahead)
    if present and (present[-1].year, present[-1].month) > (last.year, last.month):
        last = present[-1]
    # Contiguous from the oldest month on, so no month in between falls to DEFAULT.
    months = [first.shifted(offset) for offset in range(_distance(first, last) + 1)]

    cursor.execute(
        f"UPDATE {RECORDS} record SET created_at = generation.created_at FROM {GENERATIONS} generation "
        "WHERE generation.id = record.generation_id AND record.created_at IS DISTINCT FROM generation.created_at"
    )
    for table in (GENERATIONS, RECORDS):
        cursor.execute(
            f"CREATE TABLE {table}_partitioned (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            "PARTITION BY RANGE (created_at)"
        )
        cursor.execute(f"ALTER TABLE {table}_partitioned ALTER COLUMN created_at SET NOT NULL")
        _create_partitions(cursor, parent=f"{table}_partitioned", table=table, months=months)
        cursor.execute(f"INSERT INTO {table}_partitioned SELECT * FROM {table}")

    cursor.execute(
        f"CREATE TABLE {IDENTITY_TABLE} (id bigint PRIMARY KEY, gateway_id bigint NOT NULL, "
        "external_id varchar(255) NOT NULL, created_at timestamptz NOT NULL)"
    )
    cursor.execute(
        f"INSERT INTO {IDENTITY_TABLE} (id, gateway_id, external_id, created_at) "
        f"SELECT id, gateway_id, external_id, created_at FROM {GENERATIONS}"
    )
    cursor.execute("SELECT coalesce(max(id), 0) FROM " + GENERATIONS)
    (last_id,) = cursor.fetchone()

    for table, name, _ in pointing:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    cursor.execute(f"DROP TABLE {RECORDS}")
    cursor.execute(f"DROP TABLE {GENERATIONS}")
    for table in (GENERATIONS, RECORDS):
        cursor.execute(f"ALTER TABLE {table}_partitioned RENAME TO {table}")

    cursor.execute(f"CREATE SEQUENCE {GENERATIONS}_id_seq OWNED BY {GENERATIONS}.id")
    cursor.execute(f"SELECT setval('{GENERATIONS}_id_seq', %s, %s)", [max(last_id, 1), last_id > 0])
    cursor.execute(f"ALTER TABLE {GENERATIONS} ALTER COLUMN id SET DEFAULT nextval('{GENERATIONS}_id_seq')")
    cursor.execute(f"ALTER TABLE {GENERATIONS} ADD CONSTRAINT {GENERATIONS}_pkey PRIMARY KEY (id, created_at)")
    cursor.execute(f"ALTER TABLE {RECORDS} ADD CONSTRAINT {RECORDS}_pkey PRIMARY KEY (generation_id, created_at)")
    cursor.execute(
        f"ALTER TABLE {IDENTITY_TABLE} ADD CONSTRAINT {UNIQUE_IDENTITY} UNIQUE (gateway_id, external_id)"
    )
    cursor.execute(f"CREATE INDEX {GATEWAY_EXTERNAL_INDEX} ON {GENERATIONS} (gateway_id, external_id)")
    for table in (GENERATIONS, RECORDS):
        for definition in indexes[table]:
            cursor.execute(definition)
        for name, definition in own_keys[table]:
            definition = definition.replace(f"REFERENCES {GENERATIONS}(id)", f"REFERENCES {IDENTITY_TABLE}(id)")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for table, name, columns in pointing:
        cursor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({', '.join(columns)}) "
            f"REFERENCES {IDENTITY_TABLE} (id) DEFERRABLE INITIALLY DEFERRED"
        )
    cursor.execute(TRIGGERS_SQL)


def _distance(first: Month, last: Month) -> int:
    return (last.year - first.year) * 12 + last.month - first.month
