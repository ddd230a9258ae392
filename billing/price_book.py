"""Which list price is in force for a generation: the one home for price precedence.

In order, for the generation's gateway and model, on the generation's own date:
1. an imported price (`import_prices`), the latest whose valid_from is not after that date;
2. the gateway's own model list (`sync_prices`, OpenRouter-kind gateways), likewise dated;
3. the catalog (genai-prices, billing/catalog.py), at the generation's time.
A gateway-list price the gateway marks as holding only below a prompt size gives way to the
catalog above it (the catalog knows the long-context tiers). Every price says its source.
"""

from collections.abc import Iterable
from datetime import date, datetime

from accounts.models import Gateway
from billing.catalog import catalog_price
from billing.models import ModelPrice, PriceSource
from billing.reconciliation import reading
from billing.reconciliation.charges import total_input_tokens
from billing.reconciliation.facts import ListPrice, Prices
from generations.gateways.base import GatewayGenerationRecord
from generations.models import Generation

SOURCES_IN_PRECEDENCE = (PriceSource.IMPORT, PriceSource.GATEWAY_LIST)


class PriceBook:
    """List prices of one gateway, with stored prices loaded for a whole batch in one query
    (`preload`), or one model at a time for models the batch did not foresee."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        # Each model's stored prices, latest valid_from first.
        self._history: dict[str, list[ModelPrice]] = {}

    def preload(self, *, models: Iterable[str], until: date) -> None:
        """Load the stored prices of `models` in force on any day up to `until`, in one query."""
        wanted = {model for model in models if model not in self._history}
        if not wanted:
            return
        for model in wanted:
            self._history[model] = []
        rows = ModelPrice.objects.filter(gateway=self.gateway, model__in=wanted, valid_from__lte=until)
        for row in rows.order_by("model", "-valid_from"):
            row.gateway = self.gateway
            self._history[row.model].append(row)

    def price(self, model: str, *, at: datetime, input_tokens: int = 0) -> ListPrice | None:
        """The price in force for `model` at `at`, for a call with `input_tokens` input tokens in
        all (cache reads and writes included), or None if no source knows the model."""
        if model not in self._history:
            rows = list(ModelPrice.objects.filter(gateway=self.gateway, model=model).order_by("-valid_from"))
            for row in rows:
                row.gateway = self.gateway
            self._history[model] = rows
        on = at.date()
        for source in SOURCES_IN_PRECEDENCE:
            in_force = next((row for row in self._history[model] if row.source == source and row.valid_from <= on), None)
            if in_force is not None and in_force.applies_to(input_tokens=input_tokens):
                return ListPrice.of(in_force)
        return catalog_price(model, at=at, input_tokens=input_tokens)

    def prices_for(self, generation: Generation, record: GatewayGenerationRecord) -> Prices:
        at = generation.created_at
        input_tokens = total_input_tokens(kind=self.gateway.kind, record=record)
        requested = self.price(generation.model, at=at, input_tokens=input_tokens)
        served_model = record.served_model
        if not served_model or reading.same_model(generation.model, served_model):
            return Prices(requested=requested, served=requested)
        served = self.price(served_model, at=at, input_tokens=input_tokens) or self.price(
            reading.normalise_model_slug(served_model), at=at, input_tokens=input_tokens
        )
        return Prices(requested=requested, served=served)

