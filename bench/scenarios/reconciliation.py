"""Reconciliation: pending generations of three gateways, a real Celery worker, the simulator.

The simulator answers every lookup after a fixed latency; each gateway allows `concurrency`
lookups at once and (here) has no rate limit. Before Tally's worker starts, the peers of
bench/peers.py look generations up at the same simulator, each in a process of its own:

- the floor client at all three gateways' concurrency together: its rate is the *measured* limit,
  what the gateway side can serve on this machine (the computed one, concurrency / latency per
  gateway, is reported beside it);
- the floor client, a bare httpx loop and the official `openrouter` SDK at one gateway's
  concurrency: their CPU time per lookup.

Tally's worker CPU time (the main process and its pool, including exited children) is divided by
the generations reconciled end to end (lookup, rules, writes) and compared with the floor's and the
SDK's CPU per lookup. Both it and the rate are counted in steady state, after the first
`memory_window` generations: by then each prefork process has imported what a batch needs and
opened its connections, once for its life, as the peers do before their loops are timed. Its
resident memory is sampled throughout and compared between that moment and the end.
"""

import sys
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
import psycopg
import redis
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from bench.peers import PeerRun, run_in_subprocess
from bench.processes import ProcessTreeSampler, free_port, log_tail, running, wait_until_serving
from bench.results import Check, ScenarioResult
from bench.scenarios.context import ScenarioContext
from bench.simulated import list_cost, peer_specs, record_spec, specs_jsonl
from bench.world import model_prices, sample_tokens
from generations.models import Generation, GenerationState
from generations.rollups import rollup_generations_added

TARGET_SHARE_OF_FLOOR_RATE = 0.60
TARGET_CPU_OVER_FLOOR = 2.5  # Tally's CPU per reconciled generation / the floor's per lookup
TARGET_SDK_OVER_CPU = 10.0  # the official SDK's CPU per lookup / Tally's per reconciled generation
MEMORY_GROWTH_ALLOWED = 0.10  # "flat": at most 10% more resident memory at the end than early on
SWEEP_TASK = "billing.tasks.reconciliation.sweep_due_generations"
SWEEP_EVERY_SECONDS = 1.0
POLL_SECONDS = 0.2
LOAD_CHUNK = 5_000
ID_PREFIX = "reconcile-"
PEER_KEY = "sk-bench-peer"
PEER_RECORDS = 2_000


def run(context: ScenarioContext) -> ScenarioResult:
    scale, world = context.scale, context.world
    _forget_reconciled(context)
    generations = _create_pending(context)
    counts = {kind: sum(1 for g in generations if g.gateway_id == gateway.id) for kind, gateway in world.gateways.items()}
    latency = scale.reconcile_latency_ms / 1000
    rates = {kind: scale.reconcile_concurrency / latency for kind in counts}
    computed_limit_seconds = max(counts[kind] / rates[kind] for kind in counts)
    computed_limit_rate = len(generations) / computed_limit_seconds

    simulator_port = free_port()
    simulator_url = f"http://127.0.0.1:{simulator_port}"
    simulator_log = context.log_dir / "reconciliation-simulator.log"
    worker_log = context.log_dir / "reconciliation-worker.log"
    child_environment = context.environment.child_environment()
    simulator_command = [
        sys.executable, "manage.py", "simulate_gateways", "--port", str(simulator_port),
        "--latency-ms", str(scale.reconcile_latency_ms),
    ]  # fmt: skip
    worker_command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
        "--concurrency", str(scale.worker_processes), "--loglevel", "WARNING", "--hostname", f"bench-{simulator_port}@%h",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    with running(
        simulator_command,
        environment=child_environment,
        log_path=simulator_log,
        profile_path=context.profile_path("reconciliation-simulator"),
    ) as simulator:
        wait_until_serving(simulator_url + "/_sim/stats", process=simulator, log_path=simulator_log)
        _load_simulator(simulator_url, context, generations)
        peers = _measure_peers(simulator_url, context)
        floor_rate = peers["floor_limit"].lookups_per_second
        limit_seconds = len(generations) / floor_rate
        _point_gateways_at(simulator_url, context)
        _purge_broker(context)
        with running(
            worker_command,
            environment=child_environment,
            log_path=worker_log,
            profile_path=context.profile_path("reconciliation-worker"),
        ) as worker:
            _wait_for_worker(worker, worker_log)
            worker_sampler = ProcessTreeSampler(worker.pid)
            simulator_sampler = ProcessTreeSampler(simulator.pid)
            progress = _reconcile(context, worker, worker_log, worker_sampler, simulator_sampler, len(generations), limit_seconds)
        stats = httpx.get(simulator_url + "/_sim/stats", timeout=10).json()
    states = _state_counts(context)
    rate = progress.measured / progress.seconds
    cpu_ms = progress.worker_cpu_seconds * 1000 / progress.measured
    floor_cpu_ms, sdk_cpu_ms = peers["floor"].cpu_ms_per_lookup, peers["openrouter_sdk"].cpu_ms_per_lookup
    rss_early, rss_end, mib = progress.rss_early, progress.rss_end, 2**20
    finished = "" if progress.done == len(generations) else f" (stopped: {len(generations) - progress.done:,} left)"
    print(
        f"  {progress.done:,} generations, the last {progress.measured:,} in {progress.seconds:.2f} s{finished} "
        f"({rate:,.0f}/s; floor client "
        f"{floor_rate:,.0f}/s, computed {computed_limit_rate:,.0f}/s); worker CPU {cpu_ms:.3f} ms/generation (floor "
        f"{floor_cpu_ms:.3f}, httpx {peers['httpx'].cpu_ms_per_lookup:.3f}, SDK {sdk_cpu_ms:.3f} ms/lookup); RSS {rss_early / mib:.0f} -> {rss_end / mib:.0f} MiB "
        f"(peak {progress.rss_peak / mib:.0f}); states {states}; simulator max in flight {stats.get('max_in_flight')}"
    )
    return ScenarioResult(
        name="reconciliation",
        figures={
            "generations": len(generations),
            "reconciled": progress.done,
            "measured": progress.measured,
            "generations_per_second": round(rate, 1),
            "limit_per_second": round(floor_rate, 1),
            "computed_limit_per_second": round(computed_limit_rate, 1),
            **_peer_figures(peers),
            "seconds": round(progress.seconds, 3),
            "worker_cpu_ms_per_generation": round(cpu_ms, 4),
            "simulator_cpu_ms_per_generation": round(progress.simulator_cpu_seconds * 1000 / progress.measured, 4),
            "worker_rss_early_mib": round(rss_early / mib, 1),
            "worker_rss_end_mib": round(rss_end / mib, 1),
            "worker_rss_peak_mib": round(progress.rss_peak / mib, 1),
            "simulator_max_in_flight": stats.get("max_in_flight") or 0,
        },
        checks=[
            Check(
                measure=f"{rate:,.0f} generations/s",
                limit=f"floor client {floor_rate:,.0f} lookups/s",
                ratio=rate / floor_rate,
                target=f">= {TARGET_SHARE_OF_FLOOR_RATE:.2f}",
                met=rate / floor_rate >= TARGET_SHARE_OF_FLOOR_RATE,
            ),
            Check(
                measure=f"worker CPU {cpu_ms:.3f} ms/generation",
                limit=f"floor client {floor_cpu_ms:.3f} ms/lookup",
                ratio=cpu_ms / floor_cpu_ms,
                target=f"<= {TARGET_CPU_OVER_FLOOR}",
                met=cpu_ms / floor_cpu_ms <= TARGET_CPU_OVER_FLOOR,
            ),
            Check(
                measure=f"openrouter SDK {sdk_cpu_ms:.3f} ms/lookup",
                limit=f"worker CPU {cpu_ms:.3f} ms/generation",
                ratio=sdk_cpu_ms / cpu_ms,
                target=f">= {TARGET_SDK_OVER_CPU:.0f}",
                met=sdk_cpu_ms / cpu_ms >= TARGET_SDK_OVER_CPU,
            ),
            Check(
                measure=f"worker RSS {rss_early / mib:.0f} -> {rss_end / mib:.0f} MiB",
                limit=f"after first {scale.memory_window:,}",
                ratio=rss_end / rss_early,
                target=f"<= {1 + MEMORY_GROWTH_ALLOWED:.2f} (flat)",
                met=rss_end / rss_early - 1 <= MEMORY_GROWTH_ALLOWED,
            ),
        ],
        notes=[
            f"{counts} generations by gateway; latency {scale.reconcile_latency_ms} ms, concurrency "
            f"{scale.reconcile_concurrency} per gateway, no rate limit; worker: celery prefork x{scale.worker_processes}",
            f"final states: {states}" + finished,
            "peers (answers parsed / lookups): "
            + ", ".join(f"{name} {run.ok}/{run.lookups} at {run.concurrency}" for name, run in peers.items()),
        ],
    )


def _state_counts(context: ScenarioContext) -> dict[str, int]:
    rows = (
        Generation.objects.filter(team=context.world.reconcile_team)
        .values_list("state")
        .order_by()
        .annotate(count=Count("id"))
    )
    return dict(rows)


def _forget_reconciled(context: ScenarioContext) -> None:
    """Delete the previous run's generations of the reconciliation team, children first."""
    team_id = context.world.reconcile_team.id
    ids = "SELECT id FROM generations_generation WHERE team_id = %(team)s"
    with psycopg.connect(context.environment.psycopg_conninfo(), autocommit=True) as connection:
        connection.execute(
            f"DELETE FROM billing_discrepancyevent WHERE discrepancy_id IN "
            f"(SELECT id FROM billing_discrepancy WHERE generation_id IN ({ids}))",
            {"team": team_id},
        )
        connection.execute(f"DELETE FROM billing_discrepancy WHERE generation_id IN ({ids})", {"team": team_id})
        connection.execute(f"DELETE FROM generations_gatewayrecord WHERE generation_id IN ({ids})", {"team": team_id})
        connection.execute("DELETE FROM generations_generation WHERE team_id = %(team)s", {"team": team_id})
        connection.execute("DELETE FROM generations_dailyspend WHERE team_id = %(team)s", {"team": team_id})


def _create_pending(context: ScenarioContext) -> list[Generation]:
    """The pending generations, due now, created the way ingest creates them (with roll-ups)."""
    world, scale = context.world, context.scale
    now = timezone.now()
    generations = []
    for number in range(scale.reconcile_generations):
        key = world.reconcile_keys[number % len(world.reconcile_keys)]
        model_index = (number * 11) % len(world.models)
        prompt, completion = sample_tokens(number)
        generations.append(
            Generation(
                gateway_id=key.gateway_id,
                external_id=f"{ID_PREFIX}{number:07d}",
                api_key_id=key.id,
                team_id=key.team_id,
                model=world.models[model_index],
                created_at=now - timedelta(minutes=10, seconds=number % 600),
                tokens_prompt=prompt,
                tokens_completion=completion,
                cost=list_cost(prompt=prompt, completion=completion, prices=model_prices(model_index)),
                streamed=number % 2 == 0,
                state=GenerationState.PENDING,
                next_attempt_at=now,
            )
        )
    with transaction.atomic():
        Generation.objects.bulk_create(generations, batch_size=2_000)
        rollup_generations_added(generations)
    return generations


def _load_simulator(simulator_url: str, context: ScenarioContext, generations: list[Generation]) -> None:
    keys = {key.id: key for key in context.world.reconcile_keys}
    specs = [
        record_spec(generation, kind=keys[generation.api_key_id].gateway_kind, secret=keys[generation.api_key_id].secret)
        for generation in generations
    ]
    with httpx.Client(base_url=simulator_url, timeout=60) as client:
        client.post("/_sim/reset", params={"records": 1, "config": 1}).raise_for_status()
        config = {"latency_ms": context.scale.reconcile_latency_ms, "fault_rate": 0, "not_found_seconds": 0}
        client.post("/_sim/config", json=config).raise_for_status()
        for start in range(0, len(specs), LOAD_CHUNK):
            client.post("/_sim/records", content=specs_jsonl(specs[start : start + LOAD_CHUNK])).raise_for_status()


def _measure_peers(simulator_url: str, context: ScenarioContext) -> dict[str, "MeasuredPeer"]:
    """Load the peers' own records (readable with PEER_KEY) and run each peer in its own process."""
    scale = context.scale
    with httpx.Client(base_url=simulator_url, timeout=60) as client:
        client.post("/_sim/config", json={"keys": [PEER_KEY]}).raise_for_status()
        client.post("/_sim/records", content=specs_jsonl(peer_specs(PEER_RECORDS))).raise_for_status()
    ids = [spec["id"] for spec in peer_specs(PEER_RECORDS)]
    base_url = f"{simulator_url}/openrouter"

    def measured(peer: str, lookups: int, concurrency: int) -> MeasuredPeer:
        cycled = [ids[index % len(ids)] for index in range(lookups)]
        run = run_in_subprocess(peer, base_url=base_url, key=PEER_KEY, ids=cycled, concurrency=concurrency)
        return MeasuredPeer(run=run, concurrency=concurrency)

    all_gateways = scale.reconcile_concurrency * 3
    peers = {"floor_limit": measured("floor", scale.floor_limit_lookups, all_gateways)}
    for peer in ("floor", "httpx", "openrouter_sdk"):
        peers[peer] = measured(peer, scale.peer_lookups, scale.reconcile_concurrency)
    return peers


@dataclass(frozen=True)
class MeasuredPeer:
    run: PeerRun
    concurrency: int

    @property
    def ok(self) -> int:
        return self.run.ok

    @property
    def lookups(self) -> int:
        return self.run.lookups

    @property
    def cpu_ms_per_lookup(self) -> float:
        return self.run.cpu_ms_per_lookup

    @property
    def lookups_per_second(self) -> float:
        return self.run.lookups_per_second


def _peer_figures(peers: dict[str, MeasuredPeer]) -> dict[str, float]:
    figures = {}
    for name, peer in peers.items():
        figures[f"{name}_cpu_ms_per_lookup"] = round(peer.cpu_ms_per_lookup, 4)
        figures[f"{name}_lookups_per_second"] = round(peer.lookups_per_second, 1)
    return figures


def _point_gateways_at(simulator_url: str, context: ScenarioContext) -> None:
    for kind, gateway in context.world.gateways.items():
        gateway.base_url = f"{simulator_url}/{kind}"
        gateway.concurrency = context.scale.reconcile_concurrency
        gateway.rate_limit_per_second = 0
        gateway.paused_at = None
        gateway.pause_reason = ""
        gateway.save(update_fields=["base_url", "concurrency", "rate_limit_per_second", "paused_at", "pause_reason"])


def _purge_broker(context: ScenarioContext) -> None:
    """Drop tasks an interrupted earlier run left in the benchmark's queue."""
    from config.celery_app import app

    with app.connection_for_write() as connection:
        app.control.purge(connection=connection)
    redis.Redis.from_url(context.environment.redis_url).delete("unacked", "unacked_index")


def _wait_for_worker(worker, log_path, timeout: float = 60) -> None:
    from config.celery_app import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {worker.returncode}:\n{log_tail(log_path)}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError(f"the Celery worker did not answer a ping within {timeout:.0f} s:\n{log_tail(log_path)}")


@dataclass(frozen=True)
class Progress:
    """What the worker did in steady state: from when its first `memory_window` generations were
    done (each prefork process has then imported what a batch needs and opened its connections)
    to the end."""

    done: int  # generations reconciled in all
    measured: int  # those done after the first memory_window: what the time and CPU are of
    seconds: float
    worker_cpu_seconds: float
    simulator_cpu_seconds: float
    rss_early: int
    rss_end: int
    rss_peak: int


def _reconcile(context, worker, worker_log, worker_sampler, simulator_sampler, total: int, limit_seconds: float) -> Progress:
    """Trigger sweeps until nothing is pending, or the time budget (20 times the limit's time,
    at least two minutes) is spent: then the figures are those of what was done by then. Time
    and CPU count from when the first memory_window generations are done (from the start if
    the run never gets there)."""
    from config.celery_app import app

    team_id = context.world.reconcile_team.id
    budget = max(120.0, 20 * limit_seconds)
    worker_sampler.start()
    started = time.perf_counter()
    # Where the measurement starts, (time, worker CPU, simulator CPU, generations done): the
    # start, until the warm-up is over.
    mark = (started, worker_sampler.cpu_seconds(), simulator_sampler.cpu_seconds(), 0)
    rss_early = None
    last_sweep = 0.0
    with psycopg.connect(context.environment.psycopg_conninfo(), autocommit=True) as connection:
        while True:
            now = time.perf_counter()
            if now - last_sweep >= SWEEP_EVERY_SECONDS:
                app.send_task(SWEEP_TASK)
                last_sweep = now
            pending = connection.execute(
                "SELECT count(*) FROM generations_generation WHERE team_id = %s AND state = 'pending'", [team_id]
            ).fetchone()[0]
            done = total - pending
            if rss_early is None and done >= context.scale.memory_window and pending:
                rss_early = worker_sampler.rss_bytes()
                mark = (time.perf_counter(), worker_sampler.cpu_seconds(), simulator_sampler.cpu_seconds(), done)
            if pending == 0:
                break
            if worker.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {worker.returncode}:\n{log_tail(worker_log)}")
            if now - started > budget:
                print(f"  stopped after {budget:.0f} s with {pending:,} of {total:,} still pending")
                break
            time.sleep(POLL_SECONDS)
    ended = time.perf_counter()
    rss_end = worker_sampler.rss_bytes()
    worker_sampler.stop()
    if not done:
        raise RuntimeError(f"no generation was reconciled in {ended - started:.0f} s:\n{log_tail(worker_log)}")
    marked_at, worker_cpu_before, simulator_cpu_before, done_before = mark
    if done == done_before:
        raise RuntimeError(f"nothing was reconciled after the first {done:,} generations:\n{log_tail(worker_log)}")
    return Progress(
        done=done,
        measured=done - done_before,
        seconds=ended - marked_at,
        worker_cpu_seconds=worker_sampler.cpu_seconds() - worker_cpu_before,
        simulator_cpu_seconds=simulator_sampler.cpu_seconds() - simulator_cpu_before,
        rss_early=rss_early or rss_end,
        rss_end=rss_end,
        rss_peak=max(worker_sampler.peak_rss_bytes, rss_end),
    )
