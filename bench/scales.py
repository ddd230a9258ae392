"""How big each scenario is at each scale: `small` runs in the test suite, `full` is the real one."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    # The shared data set: one month of generations that period close and the spend page read.
    teams: int
    keys: int
    models: int
    month_generations: int
    hot_key_every: int  # every n-th generation of the month belongs to the spend page's key
    spend_requests: int
    # Ingest over HTTP.
    ingest_records: int
    ingest_request_size: int
    ingest_client_concurrency: int
    web_workers: int
    # Reconciliation with a Celery worker against the simulator.
    reconcile_generations: int
    reconcile_latency_ms: int
    reconcile_concurrency: int
    worker_processes: int
    # The peers (bench/peers.py): lookups each makes at the gateway's concurrency, and the floor
    # client's lookups at all gateways' concurrency together, whose rate is the measured limit.
    peer_lookups: int
    floor_limit_lookups: int
    # Memory is compared between the first and the last this-many generations reconciled.
    memory_window: int
    repeats: int  # timed repetitions of the period close and its limit; the best one counts
    # Months of month_generations each the table grows to before period close, the spend page and
    # ingest are measured again on the same month (bench/growth.py; generations are partitioned by
    # month, so a month's costs should not grow with the table); 1 measures them once.
    months: int = 1

    @property
    def default_database(self) -> str:
        return "tally_bench" if self.name == "full" else f"tally_bench_{self.name}"


SMALL = Scale(
    name="small",
    teams=20,
    keys=100,
    models=40,
    month_generations=100_000,
    months=1,
    hot_key_every=10,
    spend_requests=20,
    ingest_records=10_000,
    ingest_request_size=2_000,
    ingest_client_concurrency=2,
    web_workers=2,
    reconcile_generations=1_000,
    reconcile_latency_ms=20,
    reconcile_concurrency=64,
    worker_processes=3,
    peer_lookups=300,
    floor_limit_lookups=2_000,
    memory_window=250,
    repeats=2,
)

FULL = Scale(
    name="full",
    teams=200,
    keys=2_000,
    models=40,
    month_generations=10_000_000,
    months=3,
    hot_key_every=10,
    spend_requests=200,
    ingest_records=200_000,
    ingest_request_size=5_000,
    ingest_client_concurrency=2,
    web_workers=2,
    reconcile_generations=20_000,
    reconcile_latency_ms=100,
    reconcile_concurrency=64,
    worker_processes=6,
    peer_lookups=2_000,
    floor_limit_lookups=20_000,
    memory_window=5_000,
    repeats=2,
)

SCALES = {scale.name: scale for scale in (SMALL, FULL)}
