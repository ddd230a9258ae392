"""Compacting old months' raw gateway bodies (TALLY_RAW_RETENTION_MONTHS).

A gateway record keeps the body as received for audit. Invoices and audits read the normalised
columns beside it (costs, tokens, model, provider, key hash), which stay; past the retention
setting the body itself is replaced by its SHA-256 and size in bytes, so an archived copy can
still be proved to be the one received. A month is compacted only once it is settled: every team
with spend in it has a finalized invoice for it, none is a draft, and no finding on its
generations or its key-days is still open or acknowledged. A record compacted once is skipped.
"""

import hashlib
import json
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import OPEN_STATUSES, Discrepancy, Invoice, InvoiceStatus
from generations.models import DailySpend, GatewayRecord, Generation
from lib.months import Month

# A compacted body starts with this; the rest is {"sha256": ..., "bytes": ...}}.
COMPACTED_PREFIX = '{"compacted": '
BATCH_SIZE = 2_000


def compacted_body(raw: str) -> str:
    """What replaces a raw body: its SHA-256 (of its UTF-8 bytes) and size."""
    data = raw.encode()
    return COMPACTED_PREFIX + json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}) + "}"


def month_unsettled_reason(month: Month) -> str:
    """Why the month's raw bodies must stay, or "" if they may go."""
    start, end = month.start, month.end
    teams = set(
        DailySpend.objects.filter(day__gte=start.date(), day__lt=end.date())
        .values_list("team_id", flat=True)
        .distinct()
    )
    invoices = Invoice.objects.filter(period=start.date()).exclude(status=InvoiceStatus.VOID)
    if invoices.exclude(status=InvoiceStatus.FINALIZED).exists():
        return "an invoice of the month is not final"
    if teams - set(invoices.values_list("team_id", flat=True)):
        return "a team with spend in the month has no finalized invoice for it"
    findings = Discrepancy.objects.filter(status__in=OPEN_STATUSES).filter(
        Q(generation__created_at__gte=start, generation__created_at__lt=end)
        | Q(day__gte=start.date(), day__lt=end.date())
    )
    if findings.exists():
        return "a finding of the month is still open"
    return ""


def raw_month_compact(month: Month) -> int:
    """Compact the month's raw bodies (whatever its state: callers check it); how many."""
    records = GatewayRecord.objects.filter(created_at__gte=month.start, created_at__lt=month.end).exclude(
        raw__startswith=COMPACTED_PREFIX
    )
    compacted = 0
    last_id = 0
    while True:
        batch = list(
            records.filter(generation_id__gt=last_id)
            .order_by("generation_id")
            .only("generation_id", "created_at", "raw")[:BATCH_SIZE]
        )
        if not batch:
            return compacted
        for record in batch:
            record.raw = compacted_body(record.raw)
        with transaction.atomic():
            GatewayRecord.objects.bulk_update(batch, ["raw"])
        compacted += len(batch)
        last_id = batch[-1].generation_id


def raw_bodies_compact(*, retention_months: int | None = None, now: datetime | None = None) -> dict[str, int | str]:
    """Compact the raw bodies of every settled month before the current month and the
    `retention_months` before it (TALLY_RAW_RETENTION_MONTHS; 0 keeps everything): per month, how
    many were compacted, or why it was left alone."""
    if retention_months is None:
        retention_months = settings.TALLY_RAW_RETENTION_MONTHS
    if retention_months <= 0:
        return {}
    newest = Month.of(now or timezone.now()).shifted(-retention_months - 1)
    # The generations' (created_at, id) index finds the oldest month at once.
    oldest = Generation.objects.order_by("created_at").values_list("created_at", flat=True).first()
    if oldest is None:
        return {}
    done: dict[str, int | str] = {}
    month = Month.of(oldest)
    while (month.year, month.month) <= (newest.year, newest.month):
        reason = month_unsettled_reason(month)
        done[str(month)] = reason or raw_month_compact(month)
        month = month.shifted(1)
    return done
