"""Changing a discrepancy's status: the one place that does it, so every change leaves history."""

from django.db import transaction
from django.utils import timezone

from accounts.access import user_is_finance
from billing.models import Discrepancy, DiscrepancyEvent, DiscrepancyStatus
from generations.services import generation_requeue
from lib.errors import DomainError, NotAllowed

ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    DiscrepancyStatus.OPEN: {DiscrepancyStatus.ACKNOWLEDGED, DiscrepancyStatus.RESOLVED, DiscrepancyStatus.WRITTEN_OFF},
    DiscrepancyStatus.ACKNOWLEDGED: {DiscrepancyStatus.OPEN, DiscrepancyStatus.RESOLVED, DiscrepancyStatus.WRITTEN_OFF},
    DiscrepancyStatus.RESOLVED: {DiscrepancyStatus.OPEN},
    DiscrepancyStatus.WRITTEN_OFF: {DiscrepancyStatus.OPEN},
}


class DiscrepancyTransitionError(DomainError):
    """A status change the workflow does not allow, or one without a reason."""


def finding_values(finding, *, now) -> dict:
    """What a finding (a generation's or a key-day's) sets on its Discrepancy row, new or updated."""
    return {
        "severity": finding.severity,
        "expected": finding.expected,
        "actual": finding.actual,
        "delta": finding.delta,
        "detail": finding.detail,
        "updated_at": now,
    }


def discrepancy_change_status(*, discrepancy: Discrepancy, to_status: str, by, reason: str) -> Discrepancy:
    """Move a discrepancy to another status, recording who, when and why.

    A reason is required: finance must be able to tell later why a finding was settled.
    Raises DiscrepancyTransitionError for a move the workflow does not allow, NotAllowed
    when someone other than finance staff writes one off.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DiscrepancyTransitionError("A reason is required to change a discrepancy's status.")
    if to_status == DiscrepancyStatus.WRITTEN_OFF and by is not None and not user_is_finance(by):
        raise NotAllowed("Only finance staff may write a discrepancy off.")
    with transaction.atomic():
        locked = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
        if to_status not in ALLOWED_TRANSITIONS.get(locked.status, set()):
            raise DiscrepancyTransitionError(f"A discrepancy cannot go from {locked.status} to {to_status}.")
        now = timezone.now()
        DiscrepancyEvent.objects.create(
            discrepancy=locked, at=now, by=by, from_status=locked.status, to_status=to_status, note=reason
        )
        locked.status = to_status
        locked.status_changed_at = now
        locked.status_changed_by = by
        locked.status_reason = reason
        locked.updated_at = now
        locked.save(update_fields=["status", "status_changed_at", "status_changed_by", "status_reason", "updated_at"])
    return locked


def discrepancy_request_recheck(*, discrepancy: Discrepancy, by, reason: str) -> Discrepancy:
    """Queue a new lookup of the discrepancy's generation: back to pending, due now, so the next
    sweep fetches it again and the rules re-run. Recorded in the history like a status change."""
    reason = (reason or "").strip()
    if not reason:
        raise DiscrepancyTransitionError("A reason is required to re-check a discrepancy.")
    if discrepancy.generation_id is None:
        raise DiscrepancyTransitionError("A key-day finding has no generation to look up: run check_coverage for its day.")
    with transaction.atomic():
        locked = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
        now = timezone.now()
        generation_requeue(generation_id=locked.generation_id, reset_attempts=True, now=now)
        DiscrepancyEvent.objects.create(
            discrepancy=locked,
            at=now,
            by=by,
            from_status=locked.status,
            to_status=locked.status,
            note=f"Re-check requested: {reason}",
        )
        locked.updated_at = now
        locked.save(update_fields=["updated_at"])
    return locked
