"""Refreshing the gateways' own price lists (OpenRouter-kind gateways' `GET /api/v1/models`).

Each model's listed price is stored as that gateway's price (`source` gateway_list), valid from
the day it was read, only when it differs from the gateway-list price already in force: the
history keeps one row per change, and a generation is priced by the list of its own day
(billing/price_book.py). Reading the same list twice changes nothing. An import for the same
gateway and model still wins over the list.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Gateway
from billing.models import ModelPrice, PriceSource
from generations.gateways.base import GatewayError
from generations.gateways.model_list import ListedPrice, PriceList, SkippedModel, fetch_model_list

logger = logging.getLogger(__name__)

LISTING_KINDS = ("openrouter",)
RATE_FIELDS = ("prompt", "completion", "cache_read", "cache_write", "applies_below_prompt_tokens")


class PriceListError(Exception):
    """A gateway's price list could not be read; nothing was stored for that gateway."""


@dataclass
class PriceListSync:
    gateway: str
    changed: int = 0
    unchanged: int = 0
    skipped: list[SkippedModel] = field(default_factory=list)


def gateway_prices_sync(*, gateway: Gateway, now: datetime | None = None, price_list: PriceList | None = None) -> PriceListSync:
    """Read `gateway`'s model list (or store the `price_list` given) and store the prices that
    changed, valid from today (UTC). Raises PriceListError if the list cannot be read."""
    if gateway.kind not in LISTING_KINDS:
        raise PriceListError(f"gateway {gateway.slug} is a {gateway.kind} gateway, which publishes no price list")
    now = now or timezone.now()
    if price_list is None:
        try:
            price_list = fetch_model_list(base_url=gateway.base_url)
        except GatewayError as error:
            raise PriceListError(f"could not read {gateway.slug}'s model list: {error}") from error
    result = PriceListSync(gateway=gateway.slug, skipped=price_list.skipped)
    with transaction.atomic():
        in_force = _latest_listed(gateway, on=now.date())
        changed = [listed for listed in price_list.prices if not _same(in_force.get(listed.model), listed)]
        ModelPrice.objects.bulk_create(
            [_row(gateway, listed, now) for listed in changed],
            update_conflicts=True,
            unique_fields=["gateway", "model", "source", "valid_from"],
            update_fields=[*RATE_FIELDS, "fetched_at"],
        )
    result.changed, result.unchanged = len(changed), len(price_list.prices) - len(changed)
    logger.info(
        "Price list of %s: %s changed, %s unchanged, %s skipped.",
        gateway.slug, result.changed, result.unchanged, len(result.skipped),
    )
    return result


def gateways_prices_sync(*, gateways: list[Gateway] | None = None) -> tuple[list[PriceListSync], list[str]]:
    """Refresh every OpenRouter-kind gateway's list (or those given). One gateway that cannot be
    read does not stop the others: its error is returned beside the others' results."""
    if gateways is None:
        gateways = list(Gateway.objects.filter(kind__in=LISTING_KINDS).order_by("slug"))
    results, errors = [], []
    for gateway in gateways:
        try:
            results.append(gateway_prices_sync(gateway=gateway))
        except PriceListError as error:
            logger.warning("%s", error)
            errors.append(str(error))
    return results, errors


def _latest_listed(gateway: Gateway, *, on) -> dict[str, ModelPrice]:
    latest: dict[str, ModelPrice] = {}
    rows = ModelPrice.objects.filter(gateway=gateway, source=PriceSource.GATEWAY_LIST, valid_from__lte=on)
    for row in rows.order_by("model", "-valid_from"):
        latest.setdefault(row.model, row)
    return latest


def _same(stored: ModelPrice | None, listed: ListedPrice) -> bool:
    return stored is not None and all(getattr(stored, name) == getattr(listed, name) for name in RATE_FIELDS)


def _row(gateway: Gateway, listed: ListedPrice, now: datetime) -> ModelPrice:
    return ModelPrice(
        gateway=gateway,
        model=listed.model,
        source=PriceSource.GATEWAY_LIST,
        valid_from=now.date(),
        fetched_at=now,
        **{name: getattr(listed, name) for name in RATE_FIELDS},
    )
