"""Months are UTC months from the wire to the invoice: a generation posted with another time
zone's offset lands in the UTC day and month of its instant, in the roll-ups, the spend API and
the invoices, whatever time zone is active while they are read."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.invoicing.drafting import invoices_draft_period
from generations.models import DailySpend
from tests.api.factories import make_gateways, make_team, record

pytestmark = pytest.mark.django_db

# (created_at as posted, cost): the UTC instant decides the month.
AROUND_THE_END_OF_MARCH = [
    ("2026-03-31T23:30:00-02:00", "1.00"),  # 2026-04-01 01:30 UTC: April
    ("2026-04-01T00:30:00+02:00", "2.00"),  # 2026-03-31 22:30 UTC: March
    ("2026-04-01T05:29:59+05:30", "4.00"),  # 2026-03-31 23:59:59 UTC: March
    ("2026-03-31T19:00:00-05:00", "8.00"),  # 2026-04-01 00:00:00 UTC: April, the first instant
    ("2026-04-01T13:59:59.999999+14:00", "16.00"),  # 2026-03-31 23:59:59.999999 UTC: March
]


@pytest.fixture
def posted():
    team_a = make_team("alpha", make_gateways())
    records = [
        record(team_a.key, id=f"edge-{index}", created_at=created_at, cost=cost)
        for index, (created_at, cost) in enumerate(AROUND_THE_END_OF_MARCH)
    ]
    response = team_a.client().post("/api/v1/generations/", {"generations": records}, format="json")
    assert response.status_code == 201, response.content
    return team_a


def test_the_roll_ups_put_each_generation_in_its_utc_day(posted):
    days = {row.day: row.recorded_cost for row in DailySpend.objects.filter(team=posted.team)}

    assert days == {date(2026, 3, 31): Decimal("22.00"), date(2026, 4, 1): Decimal("9.00")}


@pytest.mark.parametrize("active_zone", ["UTC", "Pacific/Kiritimati", "America/Adak"])
def test_invoices_bill_each_generation_in_its_utc_month(posted, active_zone):
    with timezone.override(active_zone):
        march = {invoice.team_id: invoice for invoice in invoices_draft_period(period=date(2026, 3, 1))}
        april = {invoice.team_id: invoice for invoice in invoices_draft_period(period=date(2026, 4, 1))}

    assert march[posted.team.pk].total == Decimal("22.00")
    assert april[posted.team.pk].total == Decimal("9.00")
    assert sum(line.generations for line in march[posted.team.pk].lines.all()) == 3


def test_the_spend_api_reads_the_same_utc_days(posted):
    url = f"/api/v1/keys/{posted.key.slug}/spend/"

    march = posted.client().get(url, {"from": "2026-03-01", "to": "2026-03-31"}).json()
    first_of_april = posted.client().get(url, {"from": "2026-04-01", "to": "2026-04-01"}).json()

    assert (march["total"]["generations"], Decimal(march["total"]["recorded_cost"])) == (3, Decimal("22.00"))
    april_total = first_of_april["total"]
    assert (april_total["generations"], Decimal(april_total["recorded_cost"])) == (2, Decimal("9.00"))
