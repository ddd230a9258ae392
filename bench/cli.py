"""`python -m bench --scale small|full`: prepare the database, run the scenarios, report."""

import argparse
import dataclasses
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench.environment import PROJECT_DIR, ServiceUnavailable, environment_prepare, redis_url_from_environment
from bench.scales import SCALES

SCENARIO_NAMES = ("ingest", "reconciliation", "period_close", "spend_page")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument(
        "--database",
        help="PostgreSQL database to use (created if missing; server from DATABASE_URL). "
        "Default: tally_bench for full, tally_bench_<scale> otherwise.",
    )
    parser.add_argument(
        "--redis-url", default=None, help="Redis for the broker and limits (default: REDIS_URL or redis://127.0.0.1:6379/9)."
    )
    parser.add_argument("--results", type=Path, default=None, help="Where to write results.json (default: var/bench/).")
    parser.add_argument("--only", action="append", choices=SCENARIO_NAMES, help="Run only this scenario (repeatable).")
    parser.add_argument("--regenerate", action="store_true", help="Generate the month's data set even if present.")
    parser.add_argument(
        "--months",
        type=int,
        default=None,
        help="Months of generations to grow the table to before period close, the spend page and ingest are "
        "measured again (default: the scale's; 1 measures them once, with one month).",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Run the web server, worker and simulator under py-spy; collapsed stacks go to var/bench/profiles/ "
        "(CPU figures then include the profiler's own).",
    )
    parser.add_argument("--strict", action="store_true", help="Exit non-zero when a target is missed, too.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    scale = SCALES[arguments.scale]
    if arguments.months:
        scale = dataclasses.replace(scale, months=arguments.months)
    started_at = datetime.now(timezone.utc)
    print(f"Tally benchmarks, scale {scale.name}")
    setup_started = time.perf_counter()
    try:
        environment = environment_prepare(
            database_name=arguments.database or scale.default_database,
            redis_url=arguments.redis_url or redis_url_from_environment(),
        )
    except ServiceUnavailable as error:
        print(f"error: {error}")
        return 2
    # Django is configured from here on: these import models.
    from bench.dataset import dataset_ensure
    from bench.growth import FLAT_FIGURES, growth_result, size_text, stage_name
    from bench.scenarios import SCENARIOS, STAGE_AGAIN, ScenarioContext
    from bench.world import world_ensure

    print(f"  database {environment.database_name}, Redis {environment.redis_url}")
    world = world_ensure(scale=scale)
    months = arguments.months or scale.months
    generation_seconds = dataset_ensure(
        environment=environment, scale=scale, world=world, months=1, regenerate=arguments.regenerate
    )
    setup_seconds = time.perf_counter() - setup_started
    print(f"Setup took {setup_seconds:.1f} s (generating data: {generation_seconds:.1f} s)")

    context = ScenarioContext(
        environment=environment,
        scale=scale,
        world=world,
        log_dir=environment.var_dir / "logs",
        profile_dir=environment.var_dir / "profiles" if arguments.profile else None,
    )
    names = arguments.only or list(SCENARIO_NAMES)
    first = {name: _run_scenario(name, lambda name=name: SCENARIOS[name](context)) for name in names}
    results = list(first.values())
    sizes = [_database_size(environment, months=1)]
    again = [name for name in names if name in FLAT_FIGURES]
    if months > 1 and again:
        print(f"\n== growing the table to {months} months")
        started = time.perf_counter()
        dataset_ensure(environment=environment, scale=scale, world=world, months=months)
        print(f"  ({time.perf_counter() - started:.1f} s)")
        later = {
            name: _run_scenario(stage_name(name, months), lambda name=name: STAGE_AGAIN[name](context))
            for name in again
        }
        for name, result in later.items():
            result.name = stage_name(name, months)
        results += list(later.values())
        sizes.append(_database_size(environment, months=months))
        results.append(growth_result(first=first, later=later, months=months, sizes=sizes))
    for size in sizes:
        print(f"  database size: {size_text(size)}")

    from bench.results import results_table, results_write

    results_path = arguments.results or environment.var_dir / "results.json"
    results_write(
        results_path,
        scale=scale.name,
        setup_seconds=setup_seconds,
        started_at=started_at,
        results=results,
        database_sizes=sizes,
    )
    print("\n" + results_table(results))
    print(f"\nResults written to {_shown(results_path)}")
    if any(result.error for result in results):
        return 1
    if arguments.strict and any(not check.met for result in results for check in result.checks):
        return 1
    return 0


def _run_scenario(name: str, run):
    """A scenario's result; a broken scenario is reported as failed, and the others still run."""
    from bench.results import ScenarioResult

    print(f"\n== {name}")
    started = time.perf_counter()
    try:
        result = run()
    except Exception as error:
        traceback.print_exc()
        result = ScenarioResult(name=name, error=f"{type(error).__name__}: {error}")
    print(f"  ({time.perf_counter() - started:.1f} s)")
    return result


def _database_size(environment, *, months: int) -> dict:
    import psycopg

    from bench.growth import database_size

    with psycopg.connect(environment.psycopg_conninfo(), autocommit=True) as connection:
        return database_size(connection, months=months)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)
