"""Celery tasks for list prices. Thin: one service call."""

from celery import shared_task

from billing.price_lists import gateways_prices_sync


@shared_task
def sync_gateway_prices() -> int:
    """Daily: refresh every OpenRouter-kind gateway's own price list. Returns the prices that changed."""
    results, _errors = gateways_prices_sync()
    return sum(result.changed for result in results)
