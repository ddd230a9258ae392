"""A gateway answering hostile content: markup in names, bodies too large, JSON nested too deep,
bytes that are not UTF-8, numbers out of range. Each answer is stored or refused without
breaking the batch; refused ones are retried on the backoff schedule (never in a hot loop);
anything stored is shown escaped on the spend pages and in the admin.

Real HTTP to the gateway simulator on loopback; the batch runs in this process, as a worker runs it.
"""

import base64
import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import Membership
from generations.scheduling import BACKOFF_MINIMUM_SECONDS
from billing.reconciliation.services import generations_reconcile
from generations.fetching import generations_claim_due
from lib.exact_json import dumps_exact
from generations.models import GatewayRecord, Generation
from tests.billing.reconciliation_world import generations_store, rollups_match_generations, world_create
from tests.security.hostile_world import clean_openrouter_plans

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('tally')</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#x27;tally&#x27;)&lt;/script&gt;"


def reconcile_due() -> dict[str, int]:
    done: dict[str, int] = {}
    for claim in generations_claim_due():
        for outcome, count in generations_reconcile(claim=claim).items():
            done[outcome] = done.get(outcome, 0) + count
    return done


def openrouter_body(spec: dict, **changes) -> str:
    """The spec's OpenRouter answer as text, with `changes` spliced in as raw JSON values."""
    data = dict(spec["body"])
    placeholders = {name: f"__HOSTILE_{name}__" for name in changes}
    data.update(placeholders)
    text = dumps_exact({"data": data})
    for name, raw_value in changes.items():
        text = text.replace(f'"{placeholders[name]}"', raw_value)
    return text


@pytest.fixture
def world(gateway_simulator):
    return world_create(simulator_url=gateway_simulator.url, grace_seconds=600, tag="hostile")


@pytest.fixture
def hostile(world, gateway_simulator):
    """One generation per hostile answer, named by what its gateway record does."""
    names = [
        "script_model",
        "invalid_utf8_model",
        "huge_declared",
        "huge_streamed",
        "deep_nesting",
        "number_1e400",
        "nan",
        "tokens_1e30",
        "lone_surrogate",
        "nul_in_model",
    ]
    plans = dict(zip(names, clean_openrouter_plans(world, count=len(names)), strict=True))
    specs = {name: plan.spec for name, plan in plans.items()}
    specs["script_model"]["body"]["model"] = SCRIPT
    specs["script_model"]["body"]["provider_name"] = SCRIPT
    invalid_utf8 = openrouter_body(specs["invalid_utf8_model"], model='"gpt-\xff\xfe"').encode("latin-1")
    specs["invalid_utf8_model"]["raw_body_base64"] = base64.b64encode(invalid_utf8).decode()
    specs["huge_declared"]["script"] = ["huge"]
    specs["huge_streamed"]["script"] = ["huge_stream"]
    specs["deep_nesting"]["raw_body"] = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    specs["number_1e400"]["raw_body"] = openrouter_body(specs["number_1e400"], total_cost="1e400", usage="1e400")
    specs["nan"]["raw_body"] = openrouter_body(specs["nan"], total_cost="NaN", usage="NaN")
    specs["tokens_1e30"]["raw_body"] = openrouter_body(specs["tokens_1e30"], native_tokens_prompt="1e30")
    specs["lone_surrogate"]["raw_body"] = openrouter_body(specs["lone_surrogate"], model='"gpt-\\ud800"')
    specs["nul_in_model"]["raw_body"] = openrouter_body(specs["nul_in_model"], model='"gpt-\\u0000-x"')
    gateway_simulator.add_records(specs.values())
    stored = generations_store(world, list(plans.values()))
    return {name: generation for name, generation in zip(names, stored, strict=True)}


def test_it_stores_or_refuses_every_hostile_answer_without_breaking_the_batch(hostile, caplog):
    caplog.set_level(logging.INFO)
    started = timezone.now()

    done = reconcile_due()

    assert sum(done.values()) == len(hostile)
    state = {name: Generation.objects.get(pk=generation.pk) for name, generation in hostile.items()}
    stored = {
        "script_model": SCRIPT,
        "invalid_utf8_model": "gpt-\ufffd\ufffd",
        "lone_surrogate": "gpt-\ufffd",
        "nul_in_model": "gpt-\ufffd-x",
    }
    for name, served_model in stored.items():
        assert state[name].state in ("verified", "disputed"), name
        assert GatewayRecord.objects.get(generation=hostile[name]).served_model == served_model
    for name in set(hostile) - set(stored):
        generation = state[name]
        assert (name, generation.state, generation.attempts) == (name, "pending", 1)
        assert generation.next_attempt_at >= started + timedelta(seconds=BACKOFF_MINIMUM_SECONDS), name
        assert not GatewayRecord.objects.filter(generation=generation).exists(), name
        assert not generation.discrepancies.exists(), name
    assert rollups_match_generations() == []


def test_it_verifies_a_record_once_the_oversized_answers_stop(hostile):
    reconcile_due()
    retried = [hostile["huge_declared"].pk, hostile["huge_streamed"].pk]
    Generation.objects.filter(pk__in=retried).update(next_attempt_at=timezone.now())

    reconcile_due()

    assert set(Generation.objects.filter(pk__in=retried).values_list("state", flat=True)) == {"verified"}


def test_it_keeps_refused_answers_on_the_backoff_schedule(hostile):
    """A permanently unreadable answer is retried later and later, never in a loop."""
    refused = hostile["number_1e400"]
    waits = []
    for attempt in range(1, 5):
        before = timezone.now()
        reconcile_due()
        generation = Generation.objects.get(pk=refused.pk)
        assert (generation.state, generation.attempts) == ("pending", attempt)
        waits.append((generation.next_attempt_at - before).total_seconds())
        Generation.objects.filter(pk=refused.pk).update(next_attempt_at=timezone.now())
    assert all(wait >= BACKOFF_MINIMUM_SECONDS for wait in waits), waits


def test_it_shows_hostile_text_escaped_on_the_spend_page(hostile, client):
    reconcile_due()
    generation = hostile["script_model"]
    user = User.objects.create_user("reader")
    Membership.objects.create(user=user, team=generation.team, role=Membership.Role.VIEWER)
    client.force_login(user)

    page = client.get(f"/spend/keys/{generation.api_key.slug}/generations/{generation.pk}/")

    assert page.status_code == 200
    text = page.content.decode()
    assert SCRIPT not in text
    assert ESCAPED_SCRIPT in text


def test_it_shows_hostile_text_escaped_in_the_admin(hostile, admin_client):
    reconcile_due()
    generation = hostile["script_model"]
    record = GatewayRecord.objects.get(generation=generation)
    pages = [
        f"/admin/generations/generation/{generation.pk}/change/",
        f"/admin/generations/gatewayrecord/{record.pk}/change/",
        "/admin/generations/gatewayrecord/",
        "/admin/billing/discrepancy/",
        *[f"/admin/billing/discrepancy/{pk}/change/" for pk in generation.discrepancies.values_list("pk", flat=True)],
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert SCRIPT not in text, url
    assert "&lt;script&gt;" in admin_client.get(pages[1]).content.decode()
