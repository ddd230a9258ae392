"""Spend page: a key's page for the month, for a key with a tenth of a big table's generations,
against raw SQL that reads the same roll-ups and rows.

Server time is measured in-process around Django's test client (the whole middleware stack,
views, selectors and templates; no network), with DEBUG off. The limit is what the database needs
to answer what the page shows, as a bare client would ask it through psycopg: the key with its
team, gateway and the viewer's role, the month's coverage days and unrecorded spend per day, the
key's roll-ups for the month by day and by model (one GROUPING SETS query, as the page reads them),
the page of its latest generations with their findings' kinds, the count of its open findings in
the month, and its budget alerts. Both are timed the same way (the same warm-up, the same number
of requests); the target is page p95 <= 2 x raw p95.
"""

import time
import warnings
from collections.abc import Callable

import psycopg
from django.test import Client
from django.test.utils import override_settings

from bench.dataset import MONTH, month_bounds
from bench.results import Check, ScenarioResult
from bench.scenarios.context import ScenarioContext
from bench.timing import percentile
from generations.models import SPEND_FIELDS

TARGET_RATIO = 2.0
WARM_UP_REQUESTS = 3
TIME_BUDGET_SECONDS = 60.0  # a page far slower than its target is measured on fewer requests
PAGE_SIZE = 50  # the generations the page lists (billing.selectors.key_recent_generations)

_SUMS = ", ".join(f"sum({name})" for name in SPEND_FIELDS)
RAW_QUERIES = (
    # The key, its team and gateway, and the viewer's role in the team (what the page's header shows).
    """
    SELECT key.*, membership.role, team.*, gateway.* FROM accounts_apikey key
    JOIN accounts_team team ON team.id = key.team_id
    JOIN accounts_membership membership ON membership.team_id = team.id
    JOIN accounts_gateway gateway ON gateway.id = key.gateway_id
    WHERE membership.user_id = %(viewer)s AND key.slug = %(slug)s
    """,
    # The coverage strip: each checked day's status, and each day's open unrecorded spend.
    "SELECT day, status, reason FROM billing_keydaycoverage WHERE api_key_id = %(key)s AND day >= %(first_day)s "
    "AND day < %(end_day)s",
    "SELECT day, sum(delta) FROM billing_discrepancy WHERE api_key_id = %(key)s AND day >= %(first_day)s "
    "AND day < %(end_day)s AND generation_id IS NULL AND kind = 'unrecorded_spend' "
    "AND status IN ('open', 'acknowledged') GROUP BY day",
    # The key's roll-ups of the month by day and by model, in one scan (as the page reads them).
    f"SELECT grouping(day), day, model, {_SUMS} FROM generations_dailyspend WHERE api_key_id = %(key)s "
    "AND day >= %(first_day)s AND day < %(end_day)s GROUP BY GROUPING SETS ((day), (model)) ORDER BY 1, 2, 3",
    """
    SELECT generation.id, generation.external_id, generation.model, generation.created_at, generation.tokens_prompt,
        generation.tokens_completion, generation.cost, generation.charged_cost, generation.state,
        (SELECT array_agg(finding.kind ORDER BY finding.kind) FROM billing_discrepancy finding
         WHERE finding.generation_id = generation.id AND finding.severity = 'error')
    FROM generations_generation generation
    WHERE generation.api_key_id = %(key)s AND generation.created_at >= %(start)s AND generation.created_at < %(end)s
    ORDER BY generation.created_at DESC, generation.id DESC
    LIMIT %(page_size)s
    """,
    """
    SELECT count(*) FROM billing_discrepancy
    WHERE api_key_id = %(key)s AND severity = 'error' AND status IN ('open', 'acknowledged')
      AND generation_created_at >= %(start)s AND generation_created_at < %(end)s
    """,
    "SELECT threshold FROM billing_alert WHERE api_key_id = %(key)s AND kind = 'key_budget' AND \"window\" = %(window)s "
    "ORDER BY created_at DESC",
)


def run(context: ScenarioContext) -> ScenarioResult:
    # WhiteNoise warns that STATIC_ROOT was never collected; pages are served without it here.
    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers.base")
    world = context.world
    client = Client(HTTP_HOST="localhost")
    client.force_login(world.viewer)
    url = f"/spend/keys/{world.hot_key.slug}/?month={MONTH:%Y-%m}"
    sizes: list[int] = []

    def page() -> None:
        sizes.append(len(_get(client, url).content))

    with override_settings(DEBUG=False):
        page_ms = _timed(page, context.scale.spend_requests)
    start, end = month_bounds()
    parameters = {
        "key": world.hot_key.id,
        "first_day": start.date(),
        "end_day": end.date(),
        "start": start,
        "end": end,
        "page_size": PAGE_SIZE,
        "viewer": world.viewer.pk,
        "slug": world.hot_key.slug,
        "window": f"{MONTH:%Y-%m}",
    }
    with psycopg.connect(context.environment.psycopg_conninfo(), autocommit=True) as connection:
        rows: list[int] = []

        def raw() -> None:
            rows[:] = [len(connection.execute(query, parameters).fetchall()) for query in RAW_QUERIES]

        raw_ms = _timed(raw, len(page_ms))
    page_p50, page_p95 = percentile(page_ms, 0.50), percentile(page_ms, 0.95)
    raw_p50, raw_p95 = percentile(raw_ms, 0.50), percentile(raw_ms, 0.95)
    hot_key_generations = context.scale.month_generations // context.scale.hot_key_every
    print(f"  {len(page_ms)} requests of {url}: p50 {page_p50:.1f} ms, p95 {page_p95:.1f} ms ({sizes[-1]:,} bytes)")
    print(f"  raw SQL, {len(RAW_QUERIES)} queries ({rows} rows): p50 {raw_p50:.1f} ms, p95 {raw_p95:.1f} ms")
    ratio = page_p95 / raw_p95
    return ScenarioResult(
        name="spend_page",
        figures={
            "requests": len(page_ms),
            "p50_ms": round(page_p50, 2),
            "p95_ms": round(page_p95, 2),
            "max_ms": round(max(page_ms), 2),
            "raw_p50_ms": round(raw_p50, 2),
            "raw_p95_ms": round(raw_p95, 2),
            "response_bytes": sizes[-1],
            "key_generations": hot_key_generations,
            "table_generations": context.scale.month_generations,
        },
        checks=[
            Check(
                measure=f"p95 {page_p95:.1f} ms (p50 {page_p50:.1f} ms)",
                limit=f"raw SQL p95 {raw_p95:.1f} ms",
                ratio=ratio,
                target=f"<= {TARGET_RATIO:.0f}x",
                met=ratio <= TARGET_RATIO,
            )
        ],
        notes=[
            f"key with {hot_key_generations:,} of {context.scale.month_generations:,} generations; in-process "
            f"server time; raw SQL: {len(RAW_QUERIES)} queries through psycopg, as many requests"
        ],
    )


def _timed(action: Callable[[], None], requests: int) -> list[float]:
    """Milliseconds of each of `requests` runs of `action`, after the warm-up (fewer if the time
    budget runs out)."""
    for _ in range(WARM_UP_REQUESTS):
        action()
    durations_ms: list[float] = []
    deadline = time.perf_counter() + TIME_BUDGET_SECONDS
    for _ in range(requests):
        started = time.perf_counter()
        action()
        durations_ms.append((time.perf_counter() - started) * 1000)
        if started > deadline:
            print(f"  stopped after {len(durations_ms)} requests: the {TIME_BUDGET_SECONDS:.0f} s budget is spent")
            break
    return durations_ms


def _get(client: Client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}, not 200")
    return response
