"""The month of generations that period close and the spend page read, generated in SQL, and as
many earlier months of the same size as the scale's `months` asks for (to show that a month's
costs do not grow with the table).

Ten million rows through the ORM would take an hour; `INSERT ... SELECT generate_series(...)`
takes a few minutes. The rows go into the real tables, partitioned by month on PostgreSQL
(generations/partitions/): each month's partition is created first, the identity table is filled
by the same trigger ingest goes through, and the secondary indexes and foreign keys of the
generations and identity tables are dropped for the load and recreated exactly as they were
(their definitions are read from the catalogue, so they follow the migrations; on a partitioned
table they are the parent's, which PostgreSQL builds on every partition). The roll-ups are computed from the generated rows with
one `INSERT ... SELECT ... GROUP BY`: the same numbers the incremental path keeps.

A marker row records what was generated; a later run with the same parameters reuses the data.
"""

import time
from datetime import date, datetime

import psycopg

from bench.environment import BenchEnvironment
from bench.scales import Scale
from bench.world import World, model_prices

from generations.partitions import IDENTITY_TABLE, partition_create, partition_name, partitions_ensure
from lib.months import Month

DATA_VERSION = 2
FINDINGS_VERSION = 4
MONTH = date(2025, 9, 1)  # a month long closed, whatever day the benchmark runs
TABLE = "generations_generation"
INSERT_CHUNK = 1_000_000


def dataset_months(count: int) -> list[date]:
    """MONTH, then the `count - 1` months before it (MONTH stays the one the scenarios read)."""
    months = [Month.of(MONTH).shifted(-back) for back in range(count)]
    return [date(month.year, month.month, 1) for month in months]


def month_bounds(month: date = MONTH) -> tuple[datetime, datetime]:
    return Month.of(month).start, Month.of(month).end


def dataset_ensure(
    *, environment: BenchEnvironment, scale: Scale, world: World, months: int = 1, regenerate: bool = False
) -> float:
    """Make sure the data set holds exactly `months` months of generations: MONTH (the month the
    scenarios measure) and the months before it; returns the seconds spent generating.

    The run calls it with months=1 first, then with the scale's months to measure the same month
    again in a bigger table (bench/growth.py). Months already there are kept: a call for more
    months generates only the missing ones, a call for fewer empties the earlier ones.
    """
    fingerprint = _fingerprint(scale, world)
    with psycopg.connect(environment.psycopg_conninfo(), autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (name text PRIMARY KEY, fingerprint text NOT NULL, "
            "rows bigint NOT NULL, seconds double precision NOT NULL, created_at timestamptz NOT NULL)"
        )
        started = time.perf_counter()
        _restore_dropped(connection)
        present = 0 if regenerate or _marker(connection, "month") != fingerprint else _marker_rows(connection, "month")
        if present == months:
            print(f"  reusing {months} month(s) of {scale.month_generations:,} generations (from an earlier run)")
        elif present == 0:
            _generate(connection, scale, world, months=dataset_months(months), fresh=True)
        elif present < months:
            _generate(connection, scale, world, months=dataset_months(months)[present:], fresh=False)
        else:
            _remove_months(connection, dataset_months(present)[months:])
        if present != months:
            # `rows` of the month marker counts the months present.
            _set_marker(connection, "month", fingerprint, months, time.perf_counter() - started)
        findings_fingerprint = f"{fingerprint} months={months} findings=v{FINDINGS_VERSION}"
        if _marker(connection, "findings") != findings_fingerprint:
            step = _step("filing discrepancies of the disputed and missing generations")
            connection.execute("TRUNCATE billing_discrepancy, billing_invoice CASCADE")
            connection.execute(_DISCREPANCIES_SQL)
            connection.execute("VACUUM ANALYZE billing_discrepancy")
            _done(step)
            _set_marker(connection, "findings", findings_fingerprint, 0, time.perf_counter() - started)
        return time.perf_counter() - started


def _marker(connection: psycopg.Connection, name: str) -> str | None:
    row = connection.execute("SELECT fingerprint FROM bench_dataset WHERE name = %s", [name]).fetchone()
    return row[0] if row else None


def _marker_rows(connection: psycopg.Connection, name: str) -> int:
    row = connection.execute("SELECT rows FROM bench_dataset WHERE name = %s", [name]).fetchone()
    return row[0] if row else 0


def _set_marker(connection: psycopg.Connection, name: str, fingerprint: str, rows: int, seconds: float) -> None:
    connection.execute("DELETE FROM bench_dataset WHERE name = %s", [name])
    connection.execute(
        "INSERT INTO bench_dataset (name, fingerprint, rows, seconds, created_at) VALUES (%s, %s, %s, %s, now())",
        [name, fingerprint, rows, seconds],
    )


def _fingerprint(scale: Scale, world: World) -> str:
    keys = world.month_keys
    return (
        f"v{DATA_VERSION} {MONTH:%Y-%m} rows={scale.month_generations} teams={scale.teams} keys={scale.keys} "
        f"models={scale.models} hot={scale.hot_key_every} key_ids={keys[0].id}..{keys[-1].id}"
    )


def _step(message: str):
    print(f"  {message}...", end="", flush=True)
    return time.perf_counter()


def _done(started: float) -> None:
    print(f" {time.perf_counter() - started:.1f} s", flush=True)


def _generate(connection: psycopg.Connection, scale: Scale, world: World, *, months: list[date], fresh: bool) -> None:
    """Generate `months` (with their roll-ups); `fresh` empties the generation tables first."""
    if fresh:
        started = _step("emptying generation tables")
        # The identity table is what discrepancies and gateway records point at: CASCADE empties them.
        connection.execute(f"TRUNCATE {TABLE}, {IDENTITY_TABLE}, generations_dailyspend, billing_invoice CASCADE")
        _done(started)
    _partitions_create(connection, months)
    connection.execute("SET maintenance_work_mem = '512MB'")
    _load_lookup_tables(connection, world)
    dropped = _drop_secondary_indexes_and_keys(connection, TABLE) + _drop_secondary_indexes_and_keys(
        connection, IDENTITY_TABLE
    )
    _keep_for_restore(connection, dropped)
    try:
        total = scale.month_generations
        for month in months:
            for first in range(1, total + 1, INSERT_CHUNK):
                last = min(first + INSERT_CHUNK - 1, total)
                started = _step(f"generating {month:%Y-%m}'s generations {first:,}-{last:,} of {total:,}")
                connection.execute(_INSERT_SQL, _insert_parameters(scale, first, last, month))
                _done(started)
    finally:
        started = _step(f"recreating {len(dropped)} indexes and constraints")
        _restore_dropped(connection)
        _done(started)
    started = _step("computing daily roll-ups")
    for month in months:
        start, end = month_bounds(month)
        bounds = {"start": start, "end": end}
        dailyspend_insert(connection, where="created_at >= %(start)s AND created_at < %(end)s", parameters=bounds)
    _done(started)
    started = _step("vacuum analyze")
    connection.execute(f"VACUUM ANALYZE {TABLE}")
    connection.execute(f"VACUUM ANALYZE {IDENTITY_TABLE}")
    connection.execute("VACUUM ANALYZE generations_dailyspend")
    _done(started)


def _remove_months(connection: psycopg.Connection, months: list[date]) -> None:
    """Empty these months' partitions, their identities and roll-ups. Findings point at the
    identities: they are emptied here and filed again for the months that stay.

    The foreign keys pointing at the identities are dropped for the delete and recreated after
    (each validated once): through them, every deleted identity was checked against each
    partition of the gateway records, seven minutes a month of 10,000,000."""
    connection.execute("TRUNCATE billing_discrepancy, billing_invoice CASCADE")
    _keep_for_restore(connection, _drop_foreign_keys_to(connection, IDENTITY_TABLE))
    try:
        for month in months:
            started = _step(f"removing {month:%Y-%m}")
            start, end = month_bounds(month)
            bounds = {"start": start, "end": end}
            with connection.transaction():
                for table in ("generations_gatewayrecord", TABLE):
                    connection.execute(f'TRUNCATE "{partition_name(table, Month.of(month))}"')
                connection.execute(
                    f"DELETE FROM {IDENTITY_TABLE} WHERE created_at >= %(start)s AND created_at < %(end)s", bounds
                )
                connection.execute("DELETE FROM generations_dailyspend WHERE day >= %(start)s AND day < %(end)s", bounds)
            _done(started)
    finally:
        _restore_dropped(connection)
    connection.execute(f"VACUUM ANALYZE {IDENTITY_TABLE}")
    connection.execute("VACUUM ANALYZE generations_dailyspend")


def _load_lookup_tables(connection: psycopg.Connection, world: World) -> None:
    connection.execute("CREATE TEMP TABLE bench_keys (idx int PRIMARY KEY, id bigint, team_id bigint, gateway_id bigint)")
    connection.execute("CREATE TEMP TABLE bench_models (idx int PRIMARY KEY, name text, prompt numeric, completion numeric)")
    with connection.cursor() as cursor:
        with cursor.copy("COPY bench_keys (idx, id, team_id, gateway_id) FROM STDIN") as copy:
            for index, key in enumerate(world.month_keys):
                copy.write_row((index, key.id, key.team_id, key.gateway_id))
        with cursor.copy("COPY bench_models (idx, name, prompt, completion) FROM STDIN") as copy:
            for index, model in enumerate(world.models):
                prices = model_prices(index)
                copy.write_row((index, model, prices["prompt"], prices["completion"]))


def _partitions_create(connection: psycopg.Connection, months: list[date]) -> None:
    """The data set's months' partitions, and the current months' (which ingest writes to)."""
    partitions_ensure()
    for month in months:
        with connection.transaction(), connection.cursor() as cursor:
            for table in (TABLE, "generations_gatewayrecord"):
                partition_create(cursor, table=table, month=Month.of(month))


_DROPPED_TABLE = "CREATE TABLE IF NOT EXISTS bench_dropped (position serial PRIMARY KEY, statement text NOT NULL)"


def _keep_for_restore(connection: psycopg.Connection, statements: list[str]) -> None:
    """Keep how to recreate what the load dropped in the database itself, so that a run killed
    mid-load (where `finally` never runs) leaves the next run able to put it back."""
    connection.execute(_DROPPED_TABLE)
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO bench_dropped (statement) VALUES (%s)", [(text,) for text in statements])


def _restore_dropped(connection: psycopg.Connection) -> None:
    """Recreate what an earlier load dropped and has not recreated yet."""
    connection.execute(_DROPPED_TABLE)
    pending = connection.execute("SELECT position, statement FROM bench_dropped ORDER BY position").fetchall()
    for position, statement in pending:
        connection.execute(statement)
        connection.execute("DELETE FROM bench_dropped WHERE position = %s", [position])


def _drop_foreign_keys_to(connection: psycopg.Connection, table: str) -> list[str]:
    """Drop the foreign keys that point at `table` (a partitioned table's own, which its
    partitions' copies go with); return how to recreate them."""
    foreign_keys = connection.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE confrelid = %s::regclass AND contype = 'f' AND conparentid = 0",
        [table],
    ).fetchall()
    return [_constraint_drop(connection, *foreign_key) for foreign_key in foreign_keys]


def _constraint_drop(connection: psycopg.Connection, table: str, name: str, definition: str) -> str:
    """Drop a table's constraint; return how to recreate it."""
    connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'


def _drop_secondary_indexes_and_keys(connection: psycopg.Connection, table: str) -> list[str]:
    """Drop every index but the primary key, and the table's foreign keys; return how to recreate them."""
    rows = connection.execute(
        """
        SELECT index_class.relname, pg_get_indexdef(index_class.oid), constraint_.conname,
               pg_get_constraintdef(constraint_.oid)
        FROM pg_index index_
        JOIN pg_class index_class ON index_class.oid = index_.indexrelid
        LEFT JOIN pg_constraint constraint_
               ON constraint_.conindid = index_.indexrelid AND constraint_.conrelid = index_.indrelid
        WHERE index_.indrelid = %s::regclass AND NOT index_.indisprimary
        """,
        [table],
    ).fetchall()
    foreign_keys = connection.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    ).fetchall()
    recreate = []
    for index_name, index_definition, constraint_name, constraint_definition in rows:
        if constraint_name:
            recreate.append(_constraint_drop(connection, table, constraint_name, constraint_definition))
        else:
            connection.execute(f'DROP INDEX "{index_name}"')
            # A partitioned table's index reads "ON ONLY table": created so, it would stay invalid,
            # with no index on any partition. Without ONLY it is built on every partition.
            recreate.append(index_definition.replace(" ON ONLY ", " ON ", 1))
    recreate += [_constraint_drop(connection, table, *foreign_key) for foreign_key in foreign_keys]
    return recreate


def _insert_parameters(scale: Scale, first: int, last: int, month: date) -> dict:
    start, end = month_bounds(month)
    return {
        # MONTH keeps its ids as they were; the other months' are told apart by the month.
        "id_prefix": "bench-" if month == MONTH else f"bench-{month:%Y-%m}-",
        "first": first,
        "last": last,
        "total": scale.month_generations,
        "hot_every": scale.hot_key_every,
        "other_keys": scale.keys - 1,
        "models": scale.models,
        "month_start": start,
        "month_microseconds": int((end - start).total_seconds() * 1_000_000),
    }


# One row per n: the key (every hot_every-th row is the spend page's key, the rest are spread over
# the others), a model (the spend page's key uses all of them, other keys four each), token counts
# and a cost from the model's list price, and a closed month's states: nearly all verified, about
# 0.5% disputed, 0.1% missing.
_INSERT_SQL = f"""
INSERT INTO {TABLE} (gateway_id, external_id, api_key_id, team_id, model, created_at, tokens_prompt,
    tokens_completion, tokens_cached, tokens_reasoning, cost, is_byok, cancelled, streamed, state,
    charged_cost, attempts, next_attempt_at, reconciled_at)
SELECT key_.gateway_id, %(id_prefix)s || row_.n, key_.id, key_.team_id, row_.model, row_.created_at,
    row_.prompt, row_.completion, row_.cached, row_.reasoning, row_.cost, false, false, mod(row_.n, 2) = 0,
    row_.state,
    CASE row_.state WHEN 'verified' THEN row_.cost WHEN 'disputed' THEN round(row_.cost * 1.1, 12) END,
    1, NULL, row_.created_at + interval '2 minutes'
FROM (
    SELECT shaped.*, model_.name AS model,
        round((shaped.prompt * model_.prompt + (shaped.completion + shaped.reasoning) * model_.completion)
              / 1000000, 12) AS cost
    FROM (
        SELECT picked.*,
            CASE WHEN mod(picked.model_index, 8) = 0 THEN picked.completion / 4 ELSE 0 END AS reasoning
        FROM (
            SELECT base.*,
                CASE WHEN mod(base.n, 5) = 0 THEN base.prompt / 2 ELSE 0 END AS cached,
                CASE WHEN base.key_index = 0 THEN mod(base.n / %(hot_every)s, %(models)s)
                     ELSE mod(base.key_index * 7 + mod(base.n, 4), %(models)s) END AS model_index,
                CASE WHEN mod(base.n, 997) = 0 THEN 'missing' WHEN mod(base.n, 211) = 0 THEN 'disputed'
                     ELSE 'verified' END AS state
            FROM (
                SELECT n,
                    CASE WHEN mod(n, %(hot_every)s) = 0 THEN 0
                         ELSE 1 + mod(n * 2654435761, %(other_keys)s) END AS key_index,
                    %(month_start)s::timestamptz
                        + ((n - 1)::numeric * %(month_microseconds)s / %(total)s)::bigint
                          * interval '1 microsecond' AS created_at,
                    50 + mod(n * 7919, 3000) AS prompt,
                    10 + mod(n * 104729, 1200) AS completion
                FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
            ) base
        ) picked
    ) shaped
    JOIN bench_models model_ ON model_.idx = shaped.model_index
) row_
JOIN bench_keys key_ ON key_.idx = row_.key_index
"""

# A month at closing time: finance has decided about one finding in ten (resolved, accepting the
# gateway's figure, or written off); the others are still open and billed at the recorded cost.
_DISCREPANCIES_SQL = f"""
INSERT INTO billing_discrepancy (generation_id, api_key_id, team_id, generation_created_at, kind, severity, expected,
    actual, delta, detail, status, created_at, updated_at, status_changed_at, status_reason, model)
SELECT id, api_key_id, team_id, created_at, kind, 'error', cost, charged_cost, charged_cost - cost, '', status,
    reconciled_at, reconciled_at, CASE WHEN status = 'open' THEN NULL ELSE reconciled_at END,
    CASE WHEN status = 'open' THEN '' ELSE 'Benchmark data: decided when the month was reviewed.' END, ''
FROM (
    SELECT id, api_key_id, team_id, created_at, cost, charged_cost, reconciled_at,
        CASE state WHEN 'disputed' THEN 'cost_mismatch' ELSE 'missing_upstream' END AS kind,
        CASE mod(id, 20) WHEN 0 THEN 'resolved' WHEN 1 THEN 'written_off' ELSE 'open' END AS status
    FROM {TABLE}
    WHERE state IN ('disputed', 'missing')
) finding
"""


def dailyspend_insert(connection: psycopg.Connection, *, where: str, parameters: dict | None = None) -> None:
    """Roll up the generations matching `where` into generations_dailyspend (buckets must be new)."""
    connection.execute(
        f"""
        INSERT INTO generations_dailyspend (api_key_id, team_id, day, model, generations, tokens_prompt,
            tokens_completion, tokens_cached, tokens_reasoning, recorded_cost, charged_cost,
            verified_recorded_cost, verified_charged_cost, pending, verified, disputed, missing, expired)
        SELECT api_key_id, team_id, (created_at AT TIME ZONE 'UTC')::date, model, count(*),
            sum(tokens_prompt), sum(tokens_completion), sum(tokens_cached), sum(tokens_reasoning),
            sum(cost), coalesce(sum(charged_cost), 0),
            coalesce(sum(cost) FILTER (WHERE state = 'verified'), 0),
            coalesce(sum(charged_cost) FILTER (WHERE state = 'verified'), 0),
            count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'verified'),
            count(*) FILTER (WHERE state = 'disputed'), count(*) FILTER (WHERE state = 'missing'),
            count(*) FILTER (WHERE state = 'expired')
        FROM {TABLE}
        WHERE {where}
        GROUP BY 1, 2, 3, 4
        """,
        parameters or {},
    )
