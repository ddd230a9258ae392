"""Which list price is in force for each model teams use, and which models have none.

Models in use come from the daily roll-ups of the last `days` days (a few rows per key, model
and day; never the generations table); each is priced through the PriceBook, so the answer is
the same as reconciliation's: import, gateway list, catalog, or nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Sum

from accounts.models import Gateway
from billing.price_book import PriceBook
from billing.reconciliation.facts import ListPrice
from generations.models import DailySpend

RECENT_DAYS = 31


@dataclass(frozen=True)
class ModelPriceStatus:
    gateway: Gateway
    model: str
    generations: int
    price: ListPrice | None

    @property
    def missing(self) -> bool:
        return self.price is None


def models_price_status(*, now: datetime, days: int = RECENT_DAYS) -> list[ModelPriceStatus]:
    """Every (gateway, model) with generations in the last `days` days, with the price in force
    now; models missing a price first, then by gateway and model."""
    used = (
        DailySpend.objects.filter(day__gte=now.date() - timedelta(days=days))
        .values("api_key__gateway_id", "model")
        .order_by("api_key__gateway_id", "model")
        .annotate(generations=Sum("generations"))
    )
    gateways = Gateway.objects.in_bulk({row["api_key__gateway_id"] for row in used})
    books: dict[int, PriceBook] = {}
    for gateway_id, gateway in gateways.items():
        books[gateway_id] = PriceBook(gateway)
        books[gateway_id].preload(
            models={row["model"] for row in used if row["api_key__gateway_id"] == gateway_id}, until=now.date()
        )
    statuses = [
        ModelPriceStatus(
            gateway=gateways[row["api_key__gateway_id"]],
            model=row["model"],
            generations=row["generations"],
            price=books[row["api_key__gateway_id"]].price(row["model"], at=now),
        )
        for row in used
    ]
    return sorted(statuses, key=lambda status: (not status.missing, status.gateway.slug, status.model))
