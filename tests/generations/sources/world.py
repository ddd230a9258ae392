"""Test data for the source endpoints: a team whose OpenRouter keys live on the gateway simulator,
an ingest token, list prices the simulator's chat endpoint charges, and reconciliation to run
afterwards."""

import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from io import StringIO

from django.core.management import call_command

from accounts.models import AccessToken, ApiKey, Gateway, Team
from billing.models import Discrepancy, ModelPrice
from demo.simulator.records import GENERATED_MODELS
from generations.models import Generation


@dataclass
class SourceWorld:
    team: Team
    gateway: Gateway
    keys: dict[str, ApiKey]
    secrets: dict[str, str]
    token: str
    other_team_key: ApiKey | None = None
    extra: dict = field(default_factory=dict)


def source_world_create(*, simulator_url: str, key_names=("main",), tag: str = "src", **key_fields) -> SourceWorld:
    team = Team.objects.create(name=f"Team {tag}", slug=f"team-{tag}")
    gateway = Gateway.objects.create(
        slug=f"openrouter-{tag}", name="OpenRouter", kind="openrouter", base_url=f"{simulator_url}/openrouter"
    )
    for model, _provider, prompt, completion in GENERATED_MODELS:
        ModelPrice.objects.create(
            gateway=gateway, model=model, prompt=prompt, completion=completion, valid_from=date(2020, 1, 1)
        )
    keys, key_secrets = {}, {}
    for name in key_names:
        secret = f"sk-or-v1-{tag}-{name}-{secrets.token_hex(12)}"
        key = ApiKey(team=team, gateway=gateway, slug=f"{tag}-{name}", name=name, **key_fields.get(name, {}))
        key.set_secret(secret)
        key.save()
        keys[name], key_secrets[name] = key, secret
    _, token = AccessToken.issue(team=team, scopes=["ingest"])
    return SourceWorld(team=team, gateway=gateway, keys=keys, secrets=key_secrets, token=token)


def other_team_key(world: SourceWorld, *, slug: str = "other-main", **fields) -> ApiKey:
    """A key of another team on the same gateway, which no payload of `world` may reach."""
    team = Team.objects.create(name="Other team", slug=f"other-{secrets.token_hex(3)}")
    key = ApiKey(team=team, gateway=world.gateway, slug=slug, name="other", **fields)
    key.set_secret(f"sk-or-v1-other-{secrets.token_hex(12)}")
    key.save()
    return key


def reconcile_until_done(timeout: int = 90) -> None:
    call_command("reconcile", "--until-done", "--timeout", str(timeout), stdout=StringIO())


def assert_all_verified_against_the_simulator(expected_ids: set[str]) -> None:
    generations = {
        generation.external_id: generation for generation in Generation.objects.select_related("gateway_record")
    }
    assert set(generations) == expected_ids
    states = {external_id: generation.state for external_id, generation in generations.items()}
    assert list(Discrepancy.objects.values_list("kind", flat=True)) == []  # not even a warning
    assert states == {external_id: "verified" for external_id in expected_ids}
    for generation in generations.values():
        # The gateway's own record (the simulator's) agrees with what the source said.
        assert generation.charged_cost == generation.cost
        assert generation.gateway_record.total_cost == generation.cost
        assert f'"id": "{generation.external_id}"' in generation.gateway_record.raw


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ZERO = Decimal(0)
