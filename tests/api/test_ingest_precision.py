"""Costs as real clients write them: float-derived, with any number of places, as JSON numbers
or strings. Accepted, stored with 18 places, and a re-post is a duplicate, never a conflict."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from generations.models import DailySpend, Generation
from tests.api.factories import record

URL = "/api/v1/generations/"
BASE_DIR = Path(__file__).resolve().parent.parent.parent

# What OpenRouter prints, what LiteLLM computes, what clients send.
FLOAT_DERIVED = {
    "openrouter-exponent": "1.2345678901234e-07",
    "litellm-computed": "0.00035999999999999997",
    "client-float": "0.0000052499999999999995",
    "twenty-two-places": "0.0000000000000000012345",
    "zero-exponent": "0E-12",
}
# Rounded once, half to even, at the 18th place.
STORED = {
    "openrouter-exponent": Decimal("0.000000123456789012"),
    "litellm-computed": Decimal("0.000360000000000000"),
    "client-float": Decimal("0.000005250000000000"),
    "twenty-two-places": Decimal("0.000000000000000001"),
    "zero-exponent": Decimal("0"),
}


def body_with_raw_numbers(team_a, *, as_strings: set[str]) -> str:
    """A request body whose costs are written as JSON numbers (digits as given) or strings."""
    records = [record(team_a.key, id=name, cost=f"@{name}@") for name in FLOAT_DERIVED]
    text = json.dumps({"generations": records})
    for name, cost in FLOAT_DERIVED.items():
        text = text.replace(f'"@{name}@"', f'"{cost}"' if name in as_strings else cost)
    return text


def post_raw(client, text: str):
    return client.post(URL, data=text, content_type="application/json")


def test_a_batch_of_float_derived_costs_is_accepted_and_stored_to_eighteen_places(team_a):
    response = post_raw(team_a.client(), body_with_raw_numbers(team_a, as_strings={"litellm-computed"}))

    assert response.status_code == 201, response.content
    assert response.json()["created"] == len(FLOAT_DERIVED)
    stored = dict(Generation.objects.values_list("external_id", "cost"))
    assert stored == STORED
    assert DailySpend.objects.get(api_key=team_a.key).recorded_cost == sum(STORED.values())


def test_re_posting_the_same_batch_counts_only_duplicates(team_a):
    first = post_raw(team_a.client(), body_with_raw_numbers(team_a, as_strings=set()))
    # The same records again, costs now as strings: the same amounts, so duplicates.
    again = post_raw(team_a.client(), body_with_raw_numbers(team_a, as_strings=set(FLOAT_DERIVED)))

    assert first.status_code == 201 and again.status_code == 201, again.content
    assert again.json() == {"created": 0, "duplicates": len(FLOAT_DERIVED), "conflicts": []}
    assert DailySpend.objects.get(api_key=team_a.key).recorded_cost == sum(STORED.values())


def test_a_cost_that_differs_beyond_the_eighteenth_place_is_still_a_duplicate(team_a):
    post_raw(team_a.client(), body_with_raw_numbers(team_a, as_strings=set()))
    nudged = json.dumps(
        {"generations": [record(team_a.key, id="litellm-computed", cost="0.000359999999999999999999")]}
    )

    response = post_raw(team_a.client(), nudged)

    assert response.json() == {"created": 0, "duplicates": 1, "conflicts": []}


def test_costs_are_returned_as_plain_decimals_without_exponents(team_a):
    post_raw(team_a.client(), body_with_raw_numbers(team_a, as_strings=set()))

    response = team_a.client().get("/api/v1/generations/", {"id": "openrouter-exponent"})

    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    assert row["cost"] == "0.000000123456789012"


SQLITE_SCRIPT = """
import json
from decimal import Decimal
from accounts.models import Team, Gateway, ApiKey
from generations.ingest import generations_ingest
from generations.models import Generation
from lib.exact_json import loads_exact

team = Team.objects.create(name="Demo", slug="demo")
gateway = Gateway.objects.create(slug="or", name="OpenRouter", kind="openrouter", base_url="http://127.0.0.1:9")
key = ApiKey(team=team, gateway=gateway, slug="k", name="k")
key.set_secret("sk-or-demo-secret-0001")
key.save()
costs = BODY_COSTS
records = [dict(gateway="or", id=name, api_key="k", model="openai/gpt-4o", created_at="2026-01-05T10:00:00Z",
                tokens_prompt=1, tokens_completion=1, cost=cost) for name, cost in costs.items()]
body = loads_exact(json.dumps(records).replace('"@', "").replace('@"', ""))
first = generations_ingest(records=body, team=team)
again = generations_ingest(records=body, team=team)
print(json.dumps({"first": [first.created, first.duplicates, first.conflicts],
                  "again": [again.created, again.duplicates, again.conflicts],
                  "stored": {g.external_id: format(g.cost, "f") for g in Generation.objects.all()}}))
"""


def test_on_sqlite_a_re_post_of_float_derived_costs_is_a_duplicate_too(tmp_path):
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    environment.pop("TALLY_REQUIRE_SERVICES", None)
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=environment, check=True, cwd=BASE_DIR, timeout=300)
    costs = {name: f"@{cost}@" for name, cost in FLOAT_DERIVED.items()}
    script = SQLITE_SCRIPT.replace("BODY_COSTS", repr(costs))

    output = subprocess.run(
        [*manage, "shell", "-c", script], env=environment, check=True, cwd=BASE_DIR, capture_output=True, text=True,
        timeout=300,
    ).stdout

    result = json.loads(output.strip().splitlines()[-1])
    assert result["first"] == [len(FLOAT_DERIVED), 0, []]
    assert result["again"] == [0, len(FLOAT_DERIVED), []]
    # SQLite keeps 15 significant digits; the demo says so. These costs have no more than that.
    assert Decimal(result["stored"]["openrouter-exponent"]) == Decimal("0.000000123456789012")
    assert Decimal(result["stored"]["litellm-computed"]) == Decimal("0.00036")
