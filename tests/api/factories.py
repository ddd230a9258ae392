"""Test data for the API tests, made with the ORM (and the roll-ups, as ingest would)."""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccessToken, ApiKey, Gateway, Team
from generations.models import Generation
from generations.rollups import rollup_generations_added

_numbers = itertools.count(1)


@dataclass
class TeamWorld:
    """A team with a key on each of two gateways and a token per scope."""

    team: Team
    key: ApiKey  # on the openrouter gateway
    fast_key: ApiKey  # on the fastrouter gateway
    ingest_token: str
    read_token: str
    both_token: str

    def client(self, token: str | None = None) -> APIClient:
        return bearer_client(token or self.both_token)


def bearer_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def make_gateways() -> dict[str, Gateway]:
    return {
        "openrouter": Gateway.objects.create(
            slug="openrouter", name="OpenRouter", kind="openrouter", base_url="https://openrouter.example"
        ),
        "fastrouter": Gateway.objects.create(
            slug="fastrouter", name="FastRouter", kind="fastrouter", base_url="https://fastrouter.example"
        ),
    }


def make_key(team: Team, gateway: Gateway, slug: str, **fields) -> ApiKey:
    key = ApiKey(team=team, gateway=gateway, slug=slug, name=slug, **fields)
    key.set_secret(f"sk-{slug}-{next(_numbers):08d}")
    key.save()
    return key


def make_team(slug: str, gateways: dict[str, Gateway]) -> TeamWorld:
    team = Team.objects.create(name=slug.title(), slug=slug)
    return TeamWorld(
        team=team,
        key=make_key(team, gateways["openrouter"], f"{slug}-key"),
        fast_key=make_key(team, gateways["fastrouter"], f"{slug}-fast"),
        ingest_token=AccessToken.issue(team=team, scopes=["ingest"])[1],
        read_token=AccessToken.issue(team=team, scopes=["read"])[1],
        both_token=AccessToken.issue(team=team, scopes=["ingest", "read"])[1],
    )


def record(key: ApiKey, **overrides) -> dict:
    """A valid ingest record for `key`, as a client would post it."""
    values = {
        "gateway": key.gateway.slug,
        "id": f"gen-{next(_numbers)}",
        "api_key": key.slug,
        "model": "openai/gpt-4o-mini",
        "created_at": "2026-01-15T10:00:00+00:00",
        "tokens_prompt": 100,
        "tokens_completion": 20,
        "cost": "0.0000375",
    }
    values.update(overrides)
    return values


def make_generation(key: ApiKey, **fields) -> Generation:
    """A stored generation (and its roll-up), as ingest would have stored it."""
    values = {
        "gateway": key.gateway,
        "external_id": f"gen-{next(_numbers)}",
        "api_key": key,
        "team": key.team,
        "model": "openai/gpt-4o-mini",
        "created_at": datetime(2026, 1, 15, 10, tzinfo=UTC),
        "tokens_prompt": 100,
        "tokens_completion": 20,
        "cost": Decimal("0.0000375"),
    }
    values.update(fields)
    generation = Generation.objects.create(**values)
    rollup_generations_added([generation])
    return generation


def days_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)
