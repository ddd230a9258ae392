"""Ingest: generations posted to POST /api/v1/generations/ over real HTTP, against COPY; and the
same generations as LiteLLM's generic_api callback (POST /api/v1/integrations/litellm/) and an
OTLP exporter (POST /otlp/v1/traces, protobuf) send them.

The server is gunicorn (sync workers, DEBUG off) on a loopback port; a few client threads post
pre-encoded requests, so the client costs little of the shared CPU. The limit is psycopg's COPY
of the same rows into the same table with the same indexes. The ingest team's rows are deleted
(and the table vacuumed) before each contender, so all start from the same table.
"""

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import psycopg

from accounts.models import AccessToken
from bench.processes import free_port, log_tail, running, wait_until_serving
from bench.results import Check, ScenarioResult
from bench.scenarios.context import ScenarioContext
from bench.scenarios.source_bodies import declare_litellm_deployments, litellm_bodies, otlp_bodies
from bench.simulated import list_cost
from bench.world import KeyRef, model_prices, sample_tokens
from generations.scheduling import FIRST_LOOKUP_DELAY

TARGET_SHARE = 0.30
# LiteLLM and OTLP payloads are several times the size of an ingest record and are translated
# first; what they must reach of COPY's rate (reported, like the API's, as a ratio).
SOURCE_TARGET_SHARE = 0.10
INGEST_PATH = "/api/v1/generations/"
LITELLM_PATH = "/api/v1/integrations/litellm/"
OTLP_PATH = "/otlp/v1/traces"
COPY_COLUMNS = (
    "gateway_id", "external_id", "api_key_id", "team_id", "model", "created_at", "tokens_prompt",
    "tokens_completion", "tokens_cached", "tokens_reasoning", "cost", "is_byok", "cancelled", "streamed",
    "next_attempt_at", "state", "attempts",
)  # fmt: skip


def ingest_records(context: ScenarioContext, count: int, *, prefix: str) -> list[dict]:
    """Records as a team's service would post them: the last hour's calls over the team's keys."""
    keys = context.world.ingest_keys
    models = context.world.models
    now = datetime.now(timezone.utc)
    records = []
    for number in range(count):
        key = keys[number % len(keys)]
        model_index = (number * 7) % len(models)
        prompt, completion = sample_tokens(number)
        cost = list_cost(prompt=prompt, completion=completion, prices=model_prices(model_index))
        records.append(
            {
                "gateway": f"bench-{key.gateway_kind}",
                "id": f"{prefix}-{number:07d}",
                "api_key": key.slug,
                "model": models[model_index],
                "created_at": (now - timedelta(seconds=3600 * number / count)).isoformat(),
                "tokens_prompt": prompt,
                "tokens_completion": completion,
                "tokens_cached": prompt // 2 if number % 5 == 0 else 0,
                "tokens_reasoning": 0,
                "cost": str(cost),
                "is_byok": False,
                "streamed": number % 2 == 0,
            }
        )
    return records


@dataclass(frozen=True)
class Contender:
    """One way of posting the records: its path, pre-encoded bodies and how to read what it created."""

    name: str
    path: str
    bodies: list
    content_type: str
    created: Callable[[httpx.Response], int | None]  # None: count the rows instead
    status: int = 200


def contenders(context: ScenarioContext, records: list[dict], *, sources: bool = True) -> list[Contender]:
    """The API's contender; with `sources`, LiteLLM's and OTLP's too."""
    size = context.scale.ingest_request_size
    api = Contender(
        "API",
        INGEST_PATH,
        [json.dumps({"generations": records[start : start + size]}) for start in range(0, len(records), size)],
        "application/json",
        lambda response: response.json()["created"],
        status=201,
    )
    if not sources:
        return [api]
    kinds = {key.slug: key.gateway_kind for key in context.world.ingest_keys}
    declare_litellm_deployments(list(kinds))
    return [
        api,
        Contender(
            "LiteLLM",
            LITELLM_PATH,
            litellm_bodies(_renamed(records, "litellm"), kinds=kinds),
            "application/json",
            lambda response: response.json()["created"],
        ),
        Contender(
            "OTLP",
            OTLP_PATH,
            otlp_bodies(_renamed(records, "otlp"), kinds=kinds, size=size),
            "application/x-protobuf",
            _otlp_created,
        ),
    ]


def _renamed(records: list[dict], prefix: str) -> list[dict]:
    return [{**record, "id": f"{prefix}-{record['id']}"} for record in records]


def _otlp_created(response: httpx.Response) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    rejected = ExportTraceServiceResponse.FromString(response.content).partial_success
    if rejected.rejected_spans:
        raise RuntimeError(f"{OTLP_PATH} rejected {rejected.rejected_spans} spans: {rejected.error_message}")
    return None


def run(context: ScenarioContext, *, sources: bool = True) -> ScenarioResult:
    """COPY, then the API; with `sources`, LiteLLM and OTLP too."""
    scale = context.scale
    records = ingest_records(context, scale.ingest_records, prefix="ingest")
    with psycopg.connect(context.environment.psycopg_conninfo(), autocommit=True) as connection:
        _forget_ingested(connection, context)
        copy_seconds = _copy(connection, context, records)
        print(f"  COPY: {len(records):,} rows in {copy_seconds:.2f} s ({len(records) / copy_seconds:,.0f} rows/s)")
        _forget_ingested(connection, context)
        try:
            timings = _post_over_http(context, records, contenders(context, records, sources=sources), connection)
        finally:
            _forget_ingested(connection, context)
    copy_rate = len(records) / copy_seconds
    figures = {
        "records": len(records),
        "copy_records_per_second": round(copy_rate, 1),
        "copy_seconds": round(copy_seconds, 3),
    }
    checks = []
    for name, (seconds, server_cpu_seconds) in timings.items():
        rate = len(records) / seconds
        print(f"  {name}: {len(records):,} records in {seconds:.2f} s ({rate:,.0f} records/s)")
        prefix = name.lower()
        figures.update(
            {
                f"{prefix}_records_per_second": round(rate, 1),
                f"{prefix}_seconds": round(seconds, 3),
                f"{prefix}_server_cpu_ms_per_record": round(server_cpu_seconds * 1000 / len(records), 4),
            }
        )
        target = TARGET_SHARE if name == "API" else SOURCE_TARGET_SHARE
        checks.append(
            Check(
                measure=f"{name} {rate:,.0f} records/s",
                limit=f"COPY {copy_rate:,.0f} rows/s",
                ratio=rate / copy_rate,
                target=f">= {target:.2f}",
                met=rate / copy_rate >= target,
            )
        )
    figures["server_cpu_ms_per_record"] = figures["api_server_cpu_ms_per_record"]
    return ScenarioResult(
        name="ingest",
        figures=figures,
        checks=checks,
        notes=[
            f"{len(records):,} records in requests of {scale.ingest_request_size:,} (LiteLLM: batches of 512, "
            f"its default), {scale.ingest_client_concurrency} client threads, gunicorn with {scale.web_workers} workers"
        ],
    )


def _forget_ingested(connection: psycopg.Connection, context: ScenarioContext) -> None:
    team_id = context.world.ingest_team.id
    connection.execute("DELETE FROM generations_generation WHERE team_id = %s", [team_id])
    connection.execute("DELETE FROM generations_dailyspend WHERE team_id = %s", [team_id])
    connection.execute("VACUUM generations_generation")


def _copy(connection: psycopg.Connection, context: ScenarioContext, records: list[dict]) -> float:
    """COPY the records' rows, built beforehand: the timer sees only what the database does."""
    keys: dict[str, KeyRef] = {key.slug: key for key in context.world.ingest_keys}
    rows = []
    for record in records:
        key = keys[record["api_key"]]
        created_at = datetime.fromisoformat(record["created_at"])
        rows.append(
            (
                key.gateway_id, record["id"], key.id, key.team_id, record["model"], created_at,
                record["tokens_prompt"], record["tokens_completion"], record["tokens_cached"],
                record["tokens_reasoning"], Decimal(record["cost"]), record["is_byok"], False,
                record["streamed"], created_at + FIRST_LOOKUP_DELAY, "pending", 0,
            )
        )  # fmt: skip
    started = time.perf_counter()
    with connection.transaction(), connection.cursor() as cursor:
        with cursor.copy(f"COPY generations_generation ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return time.perf_counter() - started


def _post_over_http(
    context: ScenarioContext, records: list[dict], contenders: list[Contender], connection: psycopg.Connection
) -> dict[str, tuple[float, float]]:
    """Post the records through gunicorn, each contender in turn from an empty table; returns
    (wall seconds, server CPU seconds) by contender."""
    from bench.processes import ProcessTreeSampler

    scale = context.scale
    AccessToken.objects.filter(team=context.world.ingest_team).delete()
    _, token = AccessToken.issue(team=context.world.ingest_team, scopes=["ingest", "read"], name="benchmark")
    warm_up = [
        json.dumps({"generations": ingest_records(context, 10, prefix=f"warm-up-{worker}")})
        for worker in range(scale.web_workers)
    ]
    port = free_port()
    log_path = context.log_dir / "ingest-gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(scale.web_workers), "--timeout", "300", "--log-level", "warning",
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    timings = {}
    with running(
        command,
        environment=context.environment.child_environment(),
        log_path=log_path,
        profile_path=context.profile_path("ingest-gunicorn"),
    ) as server:
        wait_until_serving(base_url + "/accounts/login/", process=server, log_path=log_path)
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:

            def poster(contender: Contender):
                def post(body) -> int | None:
                    response = client.post(
                        contender.path, content=body, headers={"Content-Type": contender.content_type}
                    )
                    if response.status_code != contender.status:
                        raise RuntimeError(
                            f"POST {contender.path} answered {response.status_code}: {response.text[:500]}\n{log_tail(log_path)}"
                        )
                    return contender.created(response)

                return post

            with ThreadPoolExecutor(max_workers=scale.web_workers) as pool:
                list(pool.map(poster(contenders[0]), warm_up))
            sampler = ProcessTreeSampler(server.pid)
            for contender in contenders:
                _forget_ingested(connection, context)
                cpu_before = sampler.cpu_seconds()
                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=scale.ingest_client_concurrency) as pool:
                    answered = list(pool.map(poster(contender), contender.bodies))
                seconds = time.perf_counter() - started
                cpu_seconds = sampler.cpu_seconds() - cpu_before
                stored = connection.execute(
                    "SELECT count(*) FROM generations_generation WHERE team_id = %s AND external_id NOT LIKE 'warm-up-%%'",
                    [context.world.ingest_team.id],
                ).fetchone()[0]
                created = stored if None in answered else sum(answered)
                if stored != len(records) or created != len(records):
                    raise RuntimeError(
                        f"{contender.name} stored {stored:,} and reported {created:,} generations of the {len(records):,} posted"
                    )
                timings[contender.name] = (seconds, cpu_seconds)
    return timings
