"""A small world for coverage tests: an OpenRouter gateway on the simulator with a management
key, a team with two keys, and calls on one UTC day, some of them never posted to Tally."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from accounts.models import ApiKey, Gateway, Team
from accounts.services import api_key_create, gateway_create, team_create
from generations.ingest import generations_ingest
from tests.generations.gateway_helpers import body_for

MANAGEMENT_KEY = "sk-or-v1-management-key-000000000000000000000000"
SECRET_LEAKY = "sk-or-v1-leaky-1111111111111111111111111111111111aaa"
SECRET_TIDY = "sk-or-v1-tidy-22222222222222222222222222222222222bbb"
SECRET_STRANGER = "sk-or-v1-stranger-333333333333333333333333333333ccc"
MODEL = "openai/gpt-4o-mini"


@dataclass
class CoverageWorld:
    gateway: Gateway
    team: Team
    leaky: ApiKey
    tidy: ApiKey
    day: date


@dataclass(frozen=True)
class Call:
    id: str
    secret: str
    cost: Decimal
    hour: int = 12


def coverage_world_create(*, simulator_url: str, day: date | None = None) -> CoverageWorld:
    day = day or datetime.now(UTC).date() - timedelta(days=1)
    gateway = gateway_create(
        slug="openrouter", kind="openrouter", base_url=f"{simulator_url}/openrouter", management_secret=MANAGEMENT_KEY
    )
    team = team_create(name="Research")
    leaky = api_key_create(team=team, gateway=gateway, name="Laptop", secret=SECRET_LEAKY)
    tidy = api_key_create(team=team, gateway=gateway, name="Service", secret=SECRET_TIDY)
    return CoverageWorld(gateway=gateway, team=team, leaky=leaky, tidy=tidy, day=day)


def created_at(world: CoverageWorld, call: Call) -> datetime:
    return datetime.combine(world.day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=call.hour)


def simulator_spec(world: CoverageWorld, call: Call) -> dict:
    body = body_for("openrouter", call.id, model=MODEL, total_cost=call.cost, usage=call.cost, tokens_prompt=100,
                    native_tokens_prompt=100, native_tokens_completion=20, tokens_completion=20,
                    native_tokens_cached=0, native_tokens_reasoning=0, created_at=created_at(world, call).isoformat())  # fmt: skip
    return {"protocol": "openrouter", "id": call.id, "key": call.secret, "created_at": created_at(world, call).isoformat(), "body": body}


def ingest(world: CoverageWorld, calls: list[Call]) -> None:
    slugs = {SECRET_LEAKY: world.leaky.slug, SECRET_TIDY: world.tidy.slug}
    records = [
        {
            "gateway": world.gateway.slug,
            "id": call.id,
            "api_key": slugs[call.secret],
            "model": MODEL,
            "created_at": created_at(world, call).isoformat(),
            "tokens_prompt": 100,
            "tokens_completion": 20,
            "cost": str(call.cost),
        }
        for call in calls
    ]
    generations_ingest(records=records, team=world.team)


LEAKY_POSTED = [Call("gen-leaky-1", SECRET_LEAKY, Decimal("0.0012")), Call("gen-leaky-2", SECRET_LEAKY, Decimal("0.0008"))]
# Made with the leaky key and billed by the gateway, never posted to Tally.
LEAKY_UNPOSTED = [Call("gen-leaky-3", SECRET_LEAKY, Decimal("0.0300")), Call("gen-leaky-4", SECRET_LEAKY, Decimal("0.0000005"))]
TIDY_POSTED = [Call("gen-tidy-1", SECRET_TIDY, Decimal("0.0040")), Call("gen-tidy-2", SECRET_TIDY, Decimal("0.0000001"))]
STRANGER = [Call("gen-stranger-1", SECRET_STRANGER, Decimal("0.25"))]
UNRECORDED_DELTA = Decimal("0.0300005")


def coverage_world_served(simulator) -> CoverageWorld:
    """The world with every call at the simulator (management key set) and only the posted ones
    ingested: the leaky key's day has unrecorded spend, the tidy key's matches."""
    world = coverage_world_create(simulator_url=simulator.url)
    simulator.configure(management_keys=[MANAGEMENT_KEY])
    simulator.add_records([simulator_spec(world, call) for call in LEAKY_POSTED + LEAKY_UNPOSTED + TIDY_POSTED + STRANGER])
    ingest(world, LEAKY_POSTED + TIDY_POSTED)
    return world
