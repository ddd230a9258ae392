"""Claiming due generations for lookup, and building their lookup requests.

A claim moves each due generation's `next_attempt_at` forward to a lease time, which is also the
claim's token: a batch only works on generations still carrying its lease, so a batch delivered
twice, or one whose lease ran out and was claimed again, does nothing to rows it no longer owns.
On PostgreSQL the candidates are locked with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent
sweeps take different rows without waiting; SQLite has no SKIP LOCKED, and there the conditional
`update()` (still due, still pending) decides which rows a claim got.
"""

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Gateway
from generations.gateways.base import (
    BadPayload,
    GatewayGenerationRecord,
    LookupOutcome,
    LookupRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    Unauthorised,
)
from generations import lookup_loop
from generations.gateways.client import GatewayClients, GatewayConnection, lookup_batch
from generations.limits import Limits, limiter_for, redis_url
from generations.models import Generation, GenerationState, made_range
from generations.services import generations_lease
from operations import events


def lease_seconds() -> int:
    """How long a claim holds its generations; after it, they are due again (a worker died)."""
    return settings.TALLY_RECONCILE_LEASE_SECONDS


def batch_size() -> int:
    return settings.TALLY_RECONCILE_BATCH_SIZE


@dataclass(frozen=True)
class Claim:
    """Generations of one gateway, leased to one batch until `leased_until`; made from
    `made_from` to `made_until` (the batch reads only those months' partitions; unknown for a
    claim queued before claims carried them)."""

    gateway_id: int
    generation_ids: list[int]
    leased_until: datetime
    made_from: datetime | None = None
    made_until: datetime | None = None


def generations_claim_due(
    *,
    now: datetime | None = None,
    gateway_ids: Iterable[int] | None = None,
    limit_per_gateway: int = 5000,
    size: int | None = None,
) -> list[Claim]:
    """Claim up to `limit_per_gateway` due pending generations of every gateway that is not
    paused (skipping keys that are paused), in batches of `size`, oldest due first.

    The batches come gateway by gateway in turn (the first of each, then the second of each...):
    queued in that order, workers take different gateways' batches at once, so each gateway's
    concurrency is used and one gateway's backlog does not hold the others' lookups back."""
    now = now or timezone.now()
    gateways = Gateway.objects.filter(paused_at__isnull=True).order_by("pk")
    if gateway_ids is not None:
        gateways = gateways.filter(pk__in=list(gateway_ids))
    per_gateway = [
        _claim_gateway(gateway_id=gateway_id, now=now, limit=limit_per_gateway, size=size or batch_size())
        for gateway_id in gateways.values_list("pk", flat=True)
    ]
    return [claim for turn in itertools.zip_longest(*per_gateway) for claim in turn if claim is not None]


def due_candidates(*, gateway_id: int, now: datetime):
    """(primary key, created_at) of a gateway's due pending generations whose key is not paused,
    oldest due first, locked as they are read (SKIP LOCKED: rows another sweep holds are passed over)."""
    return (
        Generation.objects.due(now)
        .filter(gateway_id=gateway_id)
        # NOT IN (paused keys), not a join with every key: with a join, a stale row estimate (a
        # burst of pending rows since the last ANALYZE) plans a loop over all keys for each row.
        .exclude(api_key_id__in=ApiKey.objects.filter(paused_at__isnull=False).values("pk"))
        .order_by("next_attempt_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", "created_at")
    )


def _claim_gateway(*, gateway_id: int, now: datetime, limit: int, size: int) -> list[Claim]:
    leased_until = now + timedelta(seconds=lease_seconds())
    with transaction.atomic():
        made = dict(due_candidates(gateway_id=gateway_id, now=now)[:limit])
        if not made:
            return []
        claimed = generations_lease(ids=list(made), now=now, leased_until=leased_until, made=made_range(made.values()))
    claims = []
    for start in range(0, len(claimed), size):
        ids = claimed[start : start + size]
        made_from, made_until = made_range(made[pk] for pk in ids)
        claims.append(
            Claim(gateway_id=gateway_id, generation_ids=ids, leased_until=leased_until, made_from=made_from, made_until=made_until)
        )
    return claims


def generations_of_claim(*, claim: Claim, gateway: Gateway | None = None) -> list[Generation]:
    """The claim's generations that are still pending and still carry its lease, with their
    keys and gateway. Given the claim's `gateway`, they all share that object instead of
    loading a copy each."""
    related = ("api_key",) if gateway is not None else ("api_key", "gateway")
    generations = list(
        Generation.objects.made_between(claim.made_from, claim.made_until)
        .filter(
            pk__in=claim.generation_ids,
            gateway_id=claim.gateway_id,
            state=GenerationState.PENDING,
            next_attempt_at=claim.leased_until,
        )
        .select_related(*related)
        .order_by("pk")
    )
    if gateway is not None:
        for generation in generations:
            generation.gateway = gateway
    return generations


def lookup_requests_for(*, gateway: Gateway, generations: list[Generation]) -> list[LookupRequest]:
    """One request per generation, authenticated with the gateway's lookup secret if it has one,
    otherwise with the key that made the generation (KushRouter lets only that key read it)."""
    shared_secret = gateway.lookup_secret()
    secrets: dict[int, str] = {}
    requests = []
    for generation in generations:
        secret = shared_secret
        if not secret:
            if generation.api_key_id not in secrets:
                secrets[generation.api_key_id] = generation.api_key.secret()
            secret = secrets[generation.api_key_id]
        requests.append(LookupRequest(generation_id=generation.external_id, secret=secret))
    return requests


def lookups_run(*, gateway: Gateway, requests: list[LookupRequest]) -> list[LookupOutcome]:
    """Look the requests up concurrently, within the gateway's limits shared by all workers, on
    connections this worker thread keeps open from one batch to the next."""
    connection = GatewayConnection.of(gateway)

    tally = events.Tally()

    def observe(outcome: LookupOutcome, seconds: float) -> None:
        tally.count(events.LOOKUPS, gateway=gateway.slug, outcome=lookup_outcome_label(outcome))
        tally.observe(events.LOOKUP_SECONDS, seconds, gateway=gateway.slug)

    async def run() -> list[LookupOutcome]:
        clients = await lookup_loop.kept(("clients", connection), lambda: GatewayClients(connection))
        limiter = await lookup_loop.kept(
            ("limiter", gateway.pk, redis_url(), Limits.of(gateway, timeout_seconds=connection.timeout_seconds)),
            lambda: limiter_for(gateway, timeout_seconds=connection.timeout_seconds),
        )
        try:
            return await lookup_batch(connection, requests, limiter=limiter, observer=observe, clients=clients)
        finally:
            # Slots given back at the end of the batch reach Redis now, not when the next batch runs.
            await limiter.flush()

    try:
        return lookup_loop.run(run())
    finally:
        tally.flush()


def lookup_outcome_label(outcome: LookupOutcome) -> str:
    """How /metrics names a lookup's outcome: ok, 404, 429, 5xx (or no answer), unreadable, refused (401/402)."""
    if isinstance(outcome, GatewayGenerationRecord):
        return "ok"
    if isinstance(outcome, NotFound):
        return "404"
    if isinstance(outcome, RateLimited):
        return "429"
    if isinstance(outcome, BadPayload):
        return "unreadable"
    if isinstance(outcome, Unauthorised | PaymentRequired):
        return "refused"
    return "5xx"
