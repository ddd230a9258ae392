"""The teams, gateways, keys, prices and users the scenarios work with; created once per database.

Everything here is named `bench-...` and deterministic, so a second run finds it and reuses it.
Key secrets are derived from the key's slug: the suite can load the simulator with the secret
that may read each generation without decrypting anything.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import ApiKey, Gateway, Membership, Team
from bench.scales import Scale
from billing.models import ModelPrice

GATEWAY_KINDS = (Gateway.Kind.OPENROUTER, Gateway.Kind.FASTROUTER, Gateway.Kind.KUSHROUTER)
PROVIDERS = ("openai", "anthropic", "google", "meta-llama", "mistralai", "deepseek", "qwen", "x-ai")
PRICES_FROM = date(2020, 1, 1)
VIEWER_USERNAME = "bench-viewer"
SIDE_TEAM_KEYS = 30  # keys of the ingest and reconciliation teams, spread over the gateways


@dataclass(frozen=True)
class KeyRef:
    id: int
    slug: str
    team_id: int
    gateway_id: int
    gateway_kind: str

    @property
    def secret(self) -> str:
        return key_secret(self.slug)


@dataclass(frozen=True)
class World:
    gateways: dict[str, Gateway]  # by kind
    month_keys: list[KeyRef]  # the keys of the month's data set; the first is the spend page's key
    models: list[str]
    ingest_team: Team
    ingest_keys: list[KeyRef]
    reconcile_team: Team
    reconcile_keys: list[KeyRef]
    viewer: object  # a user who is a member of the spend page key's team

    @property
    def hot_key(self) -> KeyRef:
        return self.month_keys[0]


def key_secret(slug: str) -> str:
    return f"sk-bench-{slug}-{hashlib.sha256(slug.encode()).hexdigest()[:24]}"


def model_names(count: int) -> list[str]:
    return [f"{PROVIDERS[index % len(PROVIDERS)]}/bench-model-{index:02d}" for index in range(count)]


def model_prices(index: int) -> dict[str, Decimal]:
    """List prices per million tokens of the index-th model: cheap to dear, as real catalogues go."""
    prompt = Decimal("0.10") + Decimal("0.25") * index
    return {
        "prompt": prompt,
        "completion": prompt * 4,
        "cache_read": prompt / 10,
        "cache_write": prompt * Decimal("1.25"),
    }


def sample_tokens(number: int) -> tuple[int, int]:
    """Prompt and completion tokens of the number-th generated call: varied, deterministic
    (the month's data set uses the same formulas in SQL)."""
    return 50 + (number * 7919) % 3000, 10 + (number * 104729) % 1200


@transaction.atomic
def world_ensure(*, scale: Scale) -> World:
    """Create whatever of the benchmark's world is missing, and return all of it."""
    gateways = {kind: _gateway(kind) for kind in GATEWAY_KINDS}
    models = model_names(scale.models)
    _prices(gateways.values(), models)
    month_teams = _teams([f"bench-team-{index:04d}" for index in range(scale.teams)])
    month_keys = _keys(
        [
            (f"bench-key-{index:04d}", month_teams[index % scale.teams], gateways[GATEWAY_KINDS[index % 3]])
            for index in range(scale.keys)
        ]
    )
    ingest_team, reconcile_team = _teams(["bench-ingest", "bench-reconcile"])
    ingest_keys = _keys(
        [(f"bench-ingest-{i:02d}", ingest_team, gateways[GATEWAY_KINDS[i % 3]]) for i in range(SIDE_TEAM_KEYS)]
    )
    reconcile_keys = _keys(
        [(f"bench-reconcile-{i:02d}", reconcile_team, gateways[GATEWAY_KINDS[i % 3]]) for i in range(SIDE_TEAM_KEYS)]
    )
    viewer = _viewer(month_teams[0])
    return World(
        gateways=gateways,
        month_keys=month_keys,
        models=models,
        ingest_team=ingest_team,
        ingest_keys=ingest_keys,
        reconcile_team=reconcile_team,
        reconcile_keys=reconcile_keys,
        viewer=viewer,
    )


def _gateway(kind: str) -> Gateway:
    gateway, _ = Gateway.objects.get_or_create(
        slug=f"bench-{kind}",
        defaults={"name": f"Bench {kind}", "kind": kind, "base_url": f"http://127.0.0.1:9/{kind}"},
    )
    return gateway


def _prices(gateways, models: list[str]) -> None:
    ModelPrice.objects.bulk_create(
        [
            ModelPrice(gateway=gateway, model=model, valid_from=PRICES_FROM, **model_prices(index))
            for gateway in gateways
            for index, model in enumerate(models)
        ],
        ignore_conflicts=True,
    )


def _teams(slugs: list[str]) -> list[Team]:
    Team.objects.bulk_create([Team(slug=slug, name=slug.replace("-", " ").title()) for slug in slugs], ignore_conflicts=True)
    by_slug = Team.objects.in_bulk(slugs, field_name="slug")
    return [by_slug[slug] for slug in slugs]


def _keys(specs: list[tuple[str, Team, Gateway]]) -> list[KeyRef]:
    existing = ApiKey.objects.in_bulk([slug for slug, _, _ in specs], field_name="slug")
    missing = []
    for slug, team, gateway in specs:
        if slug not in existing:
            key = ApiKey(slug=slug, name=slug, team=team, gateway=gateway)
            key.set_secret(key_secret(slug))
            missing.append(key)
    ApiKey.objects.bulk_create(missing, batch_size=1000)
    keys = ApiKey.objects.in_bulk([slug for slug, _, _ in specs], field_name="slug")
    _reencrypt_if_unreadable(list(keys.values()))
    kinds = {gateway.id: gateway.kind for _, _, gateway in specs}
    return [
        KeyRef(
            id=keys[slug].id,
            slug=slug,
            team_id=keys[slug].team_id,
            gateway_id=keys[slug].gateway_id,
            gateway_kind=kinds[keys[slug].gateway_id],
        )
        for slug, _, _ in specs
    ]


def _reencrypt_if_unreadable(keys: list[ApiKey]) -> None:
    """Secrets written under another encryption key (var/bench/ was cleaned) are written again."""
    try:
        keys[0].secret()
        return
    except ValueError:
        pass
    for key in keys:
        key.set_secret(key_secret(key.slug))
    ApiKey.objects.bulk_update(keys, ["secret_encrypted"], batch_size=1000)


def _viewer(team: Team):
    user, created = get_user_model().objects.get_or_create(username=VIEWER_USERNAME)
    if created:
        user.set_unusable_password()
        user.save()
    Membership.objects.get_or_create(user=user, team=team, defaults={"role": Membership.Role.VIEWER})
    return user
