"""Writing validated records: insert what is new, read back what was already stored."""

from operator import attrgetter

from django.db import connection, transaction

from generations.ingest.records import CONTENT_COLUMNS, ValidRecord
from generations.models import Generation, GenerationState
from generations.partitions import IDENTITY_TABLE

# Each column ingest inserts (a field of ValidRecord), with its PostgreSQL type for COPY and unnest.
COLUMN_TYPES = {
    "gateway_id": "bigint",
    "external_id": "text",
    "api_key_id": "bigint",
    "team_id": "bigint",
    "model": "text",
    "created_at": "timestamptz",
    "tokens_prompt": "integer",
    "tokens_completion": "integer",
    "tokens_cached": "integer",
    "tokens_reasoning": "integer",
    "cost": "numeric",
    "is_byok": "boolean",
    "cancelled": "boolean",
    "streamed": "boolean",
    "next_attempt_at": "timestamptz",
}
INSERT_COLUMNS = tuple(COLUMN_TYPES)
column_values = attrgetter(*INSERT_COLUMNS)
SQLITE_ROWS_PER_STATEMENT = 1_000  # 17 parameters a row, within SQLite's 32,766


def insert_new(records: list[ValidRecord]) -> set[tuple[int, str]]:
    """Insert what is not stored yet; the identities of the rows this call created.

    Records are sorted by identity so that concurrent requests take row locks in the same
    order and cannot deadlock.
    """
    if not records:
        return set()
    table = connection.ops.quote_name(Generation._meta.db_table)
    columns = ", ".join(INSERT_COLUMNS) + ", state, attempts"
    if connection.vendor == "postgresql":
        return _insert_postgresql(records, table, columns)
    tail = "ON CONFLICT (gateway_id, external_id) DO NOTHING RETURNING gateway_id, external_id"
    return _insert_rows(records, table, columns, tail)


def _insert_postgresql(records: list[ValidRecord], table: str, columns: str) -> set[tuple[int, str]]:
    """COPY for the usual case, where none of the records is stored yet: it is several times
    faster than INSERT. The records already stored are found first in the identity table (one
    index probe each; generations/partitions/conversion.py says why uniqueness lives there); if
    another request stores one of the rest meanwhile, the COPY fails on the identity's unique
    constraint and is undone (savepoint), and an INSERT of the rows still unknown takes over,
    again until no other request got in first, so the outcome is the same, only slower. (The
    partitioned table has no unique (gateway_id, external_id) for ON CONFLICT to lean on.)"""
    import psycopg  # only present, and only needed, with PostgreSQL

    connection.ensure_connection()
    # Django's cursors bind client-side (quoting every value as text); this one, on the same
    # connection and so in the same transaction, binds server-side, in binary.
    with psycopg.Cursor(connection.connection) as cursor:
        stored = _stored_identities(cursor, records)
        new = [record for record in records if record.identity not in stored]
        if not new:
            return set()
        try:
            with transaction.atomic():
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types([*COLUMN_TYPES.values(), "text", "smallint"])
                    for record in new:
                        copy.write_row((*column_values(record), GenerationState.PENDING.value, 0))
            return {record.identity for record in new}
        except psycopg.errors.UniqueViolation:
            pass
        arrays = ", ".join(f"%s::{sql_type}[]" for sql_type in COLUMN_TYPES.values())
        unknown = (
            f"SELECT posted.*, %s, 0 FROM unnest({arrays}) AS posted ({', '.join(INSERT_COLUMNS)}) "
            f"WHERE NOT EXISTS (SELECT 1 FROM {IDENTITY_TABLE} stored "
            "WHERE stored.gateway_id = posted.gateway_id AND stored.external_id = posted.external_id)"
        )
        params = [GenerationState.PENDING.value, *(list(column) for column in zip(*map(column_values, new)))]
        while True:
            try:
                with transaction.atomic():
                    cursor.execute(
                        f"INSERT INTO {table} ({columns}) {unknown} RETURNING gateway_id, external_id",
                        params,
                        binary=True,
                    )
                    return set(cursor.fetchall())
            except psycopg.errors.UniqueViolation:
                # Another request stored one of these after this statement began: the next
                # statement sees it. A race always leaves one more of the records stored; a
                # violation that leaves none is no race and surfaces instead of looping.
                now_stored = _stored_identities(cursor, new)
                if now_stored <= stored:
                    raise
                stored = now_stored


def _stored_identities(cursor, records: list[ValidRecord]) -> set[tuple[int, str]]:
    """Which of the records' identities are stored, read from the identity table."""
    cursor.execute(
        f"SELECT gateway_id, external_id FROM {IDENTITY_TABLE} "
        "JOIN unnest(%s::bigint[], %s::text[]) AS posted (gateway_id, external_id) USING (gateway_id, external_id)",
        [[record.gateway_id for record in records], [record.external_id for record in records]],
        binary=True,
    )
    return set(cursor.fetchall())


def _insert_rows(records: list[ValidRecord], table: str, columns: str, tail: str) -> set[tuple[int, str]]:
    """Multi-row VALUES statements, for SQLite."""
    adapt_datetime = connection.ops.adapt_datetimefield_value
    adapters = {"created_at": adapt_datetime, "next_attempt_at": adapt_datetime, "cost": str}
    adapt = [adapters.get(column, _unchanged) for column in INSERT_COLUMNS]
    placeholder = "(" + ", ".join(["%s"] * (len(INSERT_COLUMNS) + 2)) + ")"
    created: set[tuple[int, str]] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(records), SQLITE_ROWS_PER_STATEMENT):
            chunk = records[start : start + SQLITE_ROWS_PER_STATEMENT]
            params: list = []
            for record in chunk:
                params.extend(adapter(value) for adapter, value in zip(adapt, column_values(record), strict=True))
                params.extend((GenerationState.PENDING, 0))
            sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholder] * len(chunk))} {tail}"
            cursor.execute(sql, params)
            created.update((gateway_id, external_id) for gateway_id, external_id in cursor.fetchall())
    return created


def _unchanged(value):
    return value


def stored_content(identities: set[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
    """The stored content of generations by identity, to compare with what was posted again."""
    by_gateway: dict[int, list[str]] = {}
    for gateway_id, external_id in identities:
        by_gateway.setdefault(gateway_id, []).append(external_id)
    stored = {}
    for gateway_id, external_ids in by_gateway.items():
        for start in range(0, len(external_ids), 2_000):
            rows = Generation.objects.filter(
                gateway_id=gateway_id, external_id__in=external_ids[start : start + 2_000]
            ).values_list("gateway_id", "external_id", *CONTENT_COLUMNS)
            stored.update({(row[0], row[1]): tuple(row[2:]) for row in rows})
    return stored
