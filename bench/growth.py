"""Costs that stay flat as months pile up: the same month measured with one month in the table and
again with several, and the database's size per month.

The run measures period close, the spend page and ingest with one month of generations in the
table (stage 1), has the data set grow to `months` months (`dataset_ensure(months=...)`), and
measures the same scenarios again, on the same month (stage 2). Each check is the later figure
over the earlier one, for the cost that should depend on the month, not on the table:
- the spend page's p95 (ms),
- close_period's time (s),
- the API's ingest rate (records/s; inverted, so that a slower rate makes the ratio grow).
"""

import psycopg

from bench.results import Check, ScenarioResult

TARGET_RATIO = 1.2
# Per scenario: the figure that must stay flat, its unit, and whether a higher figure is better.
FLAT_FIGURES: dict[str, tuple[str, str, bool]] = {
    "spend_page": ("p95_ms", "ms", False),
    "period_close": ("close_period_seconds", "s", False),
    "ingest": ("api_records_per_second", "records/s", True),
}
# The tables a month of generations fills, partitions included.
SIZED_TABLES = ("generations_generation", "generations_gatewayrecord", "generations_dailyspend")


def stage_name(name: str, months: int) -> str:
    """The result name of a scenario measured again with `months` months in the table."""
    return f"{name} ({months} months)"


def database_size(connection: psycopg.Connection, *, months: int) -> dict:
    """Bytes of the generation tables (each with its partitions, indexes and TOAST), in all and
    per million generations and per month."""
    by_table = {
        table: connection.execute(
            # pg_partition_tree has no rows for a table that is not partitioned: add the table itself.
            "SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::bigint FROM "
            "(SELECT relid FROM pg_partition_tree(%(table)s::regclass) UNION SELECT %(table)s::regclass) tree",
            {"table": table},
        ).fetchone()[0]
        for table in SIZED_TABLES
    }
    generations = connection.execute("SELECT count(*) FROM generations_generation").fetchone()[0]
    total = sum(by_table.values())
    return {
        "months": months,
        "generations": generations,
        "bytes": total,
        "bytes_by_table": by_table,
        "bytes_per_million_generations": round(total * 1_000_000 / generations) if generations else None,
        "bytes_per_month": round(total / months),
    }


def size_text(size: dict) -> str:
    per_million = size["bytes_per_million_generations"]
    return (
        f"{size['months']} month(s), {size['generations']:,} generations: {size['bytes'] / 2**30:.2f} GiB, "
        f"{per_million / 2**20 if per_million else 0:,.0f} MiB per million generations, "
        f"{size['bytes_per_month'] / 2**30:.2f} GiB per month"
    )


def growth_result(
    *, first: dict[str, ScenarioResult], later: dict[str, ScenarioResult], months: int, sizes: list[dict]
) -> ScenarioResult:
    """The checks later / first for each scenario measured in both stages."""
    checks = []
    figures: dict[str, float] = {"months": months}
    for name, (figure, unit, higher_is_better) in FLAT_FIGURES.items():
        before, after = first.get(name), later.get(name)
        if before is None or after is None or before.error or after.error:
            continue
        one, many = before.figures[figure], after.figures[figure]
        ratio = one / many if higher_is_better else many / one
        figures[f"{name}_ratio"] = round(ratio, 3)
        checks.append(
            Check(
                measure=f"{name} {figure} with {months} months: {many:,.4g} {unit}",
                limit=f"with 1 month: {one:,.4g} {unit}",
                ratio=ratio,
                target=f"<= {TARGET_RATIO} ({months}-month / 1-month)",
                met=ratio <= TARGET_RATIO,
            )
        )
    for size in sizes:
        figures[f"bytes_{size['months']}_months"] = size["bytes"]
        figures[f"bytes_per_million_generations_{size['months']}_months"] = size["bytes_per_million_generations"] or 0
    return ScenarioResult(
        name="growth",
        figures=figures,
        checks=checks,
        notes=[size_text(size) for size in sizes],
    )

