"""Period close: `close_period` for the month, against one raw GROUP BY over the same generations.

The limit is what the database needs to add up the month straight from the raw rows:
`SELECT team, key, model, count, sums ... GROUP BY team, key, model` over every generation of the
month. close_period reads the daily roll-ups instead (a few hundred thousand rows where the month has
millions), then writes invoices; since it reads far less, the target is half the raw query's time.
"""

import io

import psycopg
from django.core.management import call_command, get_commands
from django.test.utils import override_settings

from bench.dataset import MONTH, month_bounds
from bench.results import Check, ScenarioResult
from bench.scenarios.context import ScenarioContext
from bench.timing import best_of

TARGET_RATIO = 0.5

RAW_GROUP_BY = """
SELECT team_id, api_key_id, model, count(*), sum(tokens_prompt), sum(tokens_completion), sum(cost),
       sum(charged_cost)
FROM generations_generation
WHERE created_at >= %s AND created_at < %s
GROUP BY team_id, api_key_id, model
"""


def run(context: ScenarioContext) -> ScenarioResult:
    if "close_period" not in get_commands():
        raise RuntimeError("the close_period management command does not exist yet")
    start, end = month_bounds()
    with psycopg.connect(context.environment.psycopg_conninfo(), autocommit=True) as connection:
        groups: list = []

        def group_by() -> None:
            groups[:] = connection.execute(RAW_GROUP_BY, [start, end]).fetchall()

        group_by()  # warm the cache for both contenders
        raw_seconds = best_of(context.scale.repeats, group_by)
        generations = sum(row[3] for row in groups)
        print(f"  raw GROUP BY: {raw_seconds:.3f} s for {generations:,} generations in {len(groups):,} groups")

        def forget_invoices() -> None:
            # TRUNCATE, not DELETE: finalized invoices refuse row deletion, by design.
            connection.execute("TRUNCATE billing_invoiceline, billing_invoice CASCADE")

        output = io.StringIO()

        def close() -> None:
            with override_settings(DEBUG=False):
                call_command("close_period", f"{MONTH:%Y-%m}", stdout=output, stderr=output)

        close_seconds = best_of(context.scale.repeats, close, before=forget_invoices)
        invoices, lines = connection.execute(
            "SELECT count(DISTINCT invoice.id), count(line.id) FROM billing_invoice invoice "
            "LEFT JOIN billing_invoiceline line ON line.invoice_id = invoice.id WHERE invoice.period = %s",
            [MONTH],
        ).fetchone()
    print(f"  close_period: {close_seconds:.3f} s, {invoices:,} invoices with {lines:,} lines")
    if not invoices:
        raise RuntimeError(f"close_period made no invoice for {MONTH:%Y-%m}; its output:\n{output.getvalue()}")
    ratio = close_seconds / raw_seconds
    return ScenarioResult(
        name="period_close",
        figures={
            "generations": generations,
            "close_period_seconds": round(close_seconds, 4),
            "raw_group_by_seconds": round(raw_seconds, 4),
            "invoices": invoices,
            "invoice_lines": lines,
        },
        checks=[
            Check(
                measure=f"close_period {close_seconds:.2f} s",
                limit=f"raw GROUP BY {raw_seconds:.2f} s",
                ratio=ratio,
                target=f"<= {TARGET_RATIO}x",
                met=ratio <= TARGET_RATIO,
            )
        ],
        notes=[f"{generations:,} generations in {len(groups):,} (team, key, model) groups; best of {context.scale.repeats}"],
    )
