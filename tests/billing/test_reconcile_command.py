"""`manage.py reconcile`: one pass, --until-done, --timeout, and the summary by gateway."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from generations.models import Generation
from tests.billing.reconciliation_world import generations_store, plan_generations, world_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(gateway_simulator, settings):
    settings.TALLY_RECONCILE_BACKOFF_BASE_SECONDS = 0.2
    settings.TALLY_RECONCILE_BACKOFF_CAP_SECONDS = 0.5
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600)
    return world_create(simulator_url=gateway_simulator.url, grace_seconds=600)


def run(*args) -> str:
    out = StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


def test_it_does_one_pass_and_prints_the_states_by_gateway(world, gateway_simulator):
    planned = plan_generations(world, count=30, plant_share=0.3, seed=11, now=timezone.now(), scripts=False)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)

    output = run()

    assert "Looked up 30 generations." in output
    lines = {line.split()[0]: line.split()[1:] for line in output.splitlines()[2:]}
    verified = Generation.objects.filter(state="verified").count()
    disputed = Generation.objects.filter(state="disputed").count()
    assert lines["total"][:2] == [str(verified), str(disputed)]
    assert set(lines) == {"openrouter-w", "fastrouter-w", "kushrouter-w", "total"}
    assert not Generation.objects.pending().exists()


def test_it_keeps_going_until_nothing_is_pending(world, gateway_simulator):
    planned = plan_generations(world, count=12, plant_share=0, seed=12, now=timezone.now(), scripts=False)
    for plan in planned:
        plan.spec["script"] = ["404", "500", "429", "ok"]
    gateway_simulator.add_records([plan.spec for plan in planned])
    generations_store(world, planned)

    first_pass = run()  # every lookup answers 404: all retried later
    assert first_pass.splitlines()[-1].split()[1:] == ["0", "0", "0", "0", "12"]
    assert Generation.objects.pending().count() == 12

    output = run("--until-done", "--timeout", "60")

    assert not Generation.objects.pending().exists()
    assert Generation.objects.filter(state="verified").count() == 12
    assert output.splitlines()[-1].split()[1:] == ["12", "0", "0", "0", "0"]


def test_it_fails_when_the_timeout_passes_first(world, gateway_simulator):
    planned = plan_generations(world, count=3, plant_share=0, seed=13, now=timezone.now(), scripts=False)
    for plan in planned:
        plan.spec["script"] = ["404"] * 1000  # not yet, inside a 10-minute grace window
    gateway_simulator.add_records([plan.spec for plan in planned])
    generations_store(world, planned)

    with pytest.raises(CommandError, match="Timed out after 1 seconds"):
        run("--until-done", "--timeout", "1")
    assert Generation.objects.pending().count() == 3


def test_it_stops_when_only_paused_gateways_are_left(world, gateway_simulator):
    planned = plan_generations(world, count=3, plant_share=0, seed=14, now=timezone.now(), scripts=False)
    generations_store(world, planned)
    world.gateways["openrouter"].__class__.objects.update(paused_at=timezone.now())

    with pytest.raises(CommandError, match="paused gateways or keys"):
        run("--until-done")
