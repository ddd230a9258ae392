"""Celery tasks for reconciliation (sweep, batches, retention checks). Thin: ids in, one service call."""

from celery import shared_task
from django.db import transaction
from django.utils.dateparse import parse_datetime

from billing.reconciliation.services import generations_flag_retention_risk, generations_reconcile
from generations.fetching import Claim, generations_claim_due
from generations.services import generations_requeue_rechecks


@shared_task
def sweep_due_generations() -> int:
    """Requeue missing and unreadable generations whose slow re-check is due, then claim due
    pending generations and queue them in batches per gateway. Returns how many were claimed."""
    generations_requeue_rechecks()
    claims = generations_claim_due()
    for claim in claims:
        made = (claim.made_from.isoformat(), claim.made_until.isoformat())
        arguments = (claim.gateway_id, claim.generation_ids, claim.leased_until.isoformat(), *made)
        transaction.on_commit(lambda arguments=arguments: reconcile_batch.delay(*arguments))
    return sum(len(claim.generation_ids) for claim in claims)


@shared_task(acks_late=True)
def reconcile_batch(
    gateway_id: int, generation_ids: list[int], leased_until: str, made_from: str | None = None, made_until: str | None = None
) -> dict[str, int]:
    """Look up one claimed batch and apply the outcomes; safe to run twice. (A batch queued
    before batches carried when their generations were made has no `made_from`/`made_until`.)"""
    claim = Claim(
        gateway_id=gateway_id,
        generation_ids=generation_ids,
        leased_until=parse_datetime(leased_until),
        made_from=parse_datetime(made_from) if made_from else None,
        made_until=parse_datetime(made_until) if made_until else None,
    )
    return dict(generations_reconcile(claim=claim))


@shared_task
def flag_retention_risk() -> int:
    """Daily: flag pending generations close to their gateway's retention limit."""
    return sum(risk.at_risk for risk in generations_flag_retention_risk())
