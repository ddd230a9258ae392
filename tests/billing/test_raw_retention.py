"""Compacting old months' raw gateway bodies: only settled months past the retention setting,
the normalised columns kept, the body replaced by its SHA-256 and size."""

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.models import DiscrepancyStatus, Invoice, InvoiceStatus
from billing.raw_retention import COMPACTED_PREFIX, raw_bodies_compact
from generations.models import GatewayRecord, GenerationState
from tests.billing.invoice_helpers import make_discrepancy, make_generation, make_key, make_team

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 20, tzinfo=UTC)
BODY = '{"data": {"id": "gen-1", "total_cost": 0.000123456789012345678, "model": "é"}}'


def generation_with_record(key, *, month: int):
    generation = make_generation(key, cost="0.5", charged="0.5", state=GenerationState.VERIFIED,
                                 at=datetime(2026, month, 10, tzinfo=UTC))
    GatewayRecord.objects.create(generation=generation, total_cost=Decimal("0.5"), served_model="m", raw=BODY)
    return generation


def invoice(team, *, month: int, status: str = InvoiceStatus.FINALIZED) -> Invoice:
    return Invoice.objects.create(team=team, period=date(2026, month, 1), status=status)


def test_it_compacts_a_settled_old_month_to_the_bodys_hash_and_size_and_keeps_the_columns():
    team = make_team()
    generation = generation_with_record(make_key(team), month=3)
    invoice(team, month=3)

    done = raw_bodies_compact(retention_months=1, now=NOW)

    record = GatewayRecord.objects.get(generation=generation)
    assert done["2026-03"] == 1
    assert record.raw.startswith(COMPACTED_PREFIX)
    assert json.loads(record.raw) == {
        "compacted": {"sha256": hashlib.sha256(BODY.encode()).hexdigest(), "bytes": len(BODY.encode())}
    }
    assert (record.total_cost, record.served_model, record.created_at) == (Decimal("0.5"), "m", generation.created_at)
    assert raw_bodies_compact(retention_months=1, now=NOW)["2026-03"] == 0


def test_it_keeps_the_current_month_and_the_retained_ones():
    team = make_team()
    key = make_key(team)
    kept = [generation_with_record(key, month=month) for month in (4, 5, 6)]
    for month in (4, 5, 6):
        invoice(team, month=month)

    done = raw_bodies_compact(retention_months=1, now=NOW)

    assert done == {"2026-04": 1}
    assert [GatewayRecord.objects.get(generation=g).raw == BODY for g in kept] == [False, True, True]


def test_it_keeps_a_month_whose_invoice_is_a_draft_or_missing():
    drafted, uninvoiced = make_team("drafted"), make_team("uninvoiced")
    generation_with_record(make_key(drafted), month=3)
    generation_with_record(make_key(uninvoiced), month=2)
    invoice(drafted, month=3, status=InvoiceStatus.DRAFT)

    done = raw_bodies_compact(retention_months=1, now=NOW)

    assert done["2026-03"] == "an invoice of the month is not final"
    assert done["2026-02"] == "a team with spend in the month has no finalized invoice for it"
    assert not GatewayRecord.objects.filter(raw__startswith=COMPACTED_PREFIX).exists()


def test_it_keeps_a_month_with_an_open_finding_and_compacts_it_once_resolved():
    team = make_team()
    generation = generation_with_record(make_key(team), month=3)
    invoice(team, month=3)
    finding = make_discrepancy(generation)

    assert raw_bodies_compact(retention_months=1, now=NOW)["2026-03"] == "a finding of the month is still open"
    finding.status = DiscrepancyStatus.RESOLVED
    finding.save()
    assert raw_bodies_compact(retention_months=1, now=NOW)["2026-03"] == 1


def test_a_retention_of_zero_keeps_everything(capsys):
    team = make_team()
    generation_with_record(make_key(team), month=1)
    invoice(team, month=1)

    assert raw_bodies_compact(retention_months=0, now=NOW) == {}
    call_command("compact_raw_bodies", retention_months=0)
    assert "every raw body is kept" in capsys.readouterr().out
    assert GatewayRecord.objects.get().raw == BODY
