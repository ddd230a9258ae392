"""List prices from the maintained catalog, pydantic's `genai-prices`, read into Tally's terms.

The catalog's data ships inside the installed package (its version is the data snapshot's
version, `CATALOG_VERSION`); Tally only ever reads that bundled snapshot and never calls
`genai_prices.UpdatePrices`, so nothing is fetched at run time.

How the catalog's conventions map onto a `ListPrice` (USD per million tokens):

- `input_mtok` -> prompt, `output_mtok` -> completion, `cache_read_mtok` -> cache read,
  `cache_write_mtok` (Anthropic's default five-minute write) -> cache write. Prices are Decimal
  in both, per million tokens in both: no conversion.
- genai-prices counts cache reads and writes *inside* `input_tokens` and prices the remainder at
  `input_mtok`. Tally's `list_cost` takes the uncached prompt tokens apart from the cache reads
  and writes (Anthropic's convention, which KushRouter's usage follows), which is the same sum.
- Tiered prices (long-context rates) apply to *all* tokens once the request's total input
  tokens, cache included, pass the tier's start ("cliff" pricing, as genai-prices computes it):
  the tier is picked with `input_tokens` = uncached prompt + cache reads + cache writes.
- Dated prices (a price change on a date, off-peak hours) are chosen for the generation's own
  time, as genai-prices does for `genai_request_timestamp`.

Model ids: an OpenRouter-style slug `provider/model` is looked up as `model` at the catalog's
`provider` (which also tries the providers it falls back to, e.g. a model served by another
cloud), then as the whole slug among the catalog's OpenRouter models (which know OpenRouter's
own slugs such as `meta-llama/...` and variants such as `:free`). A bare model name
(KushRouter's `gpt-5-mini-2025-08-07`) is matched against every provider's model names.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import genai_prices
from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, TieredPrices

from billing.reconciliation.facts import ListPrice

CATALOG_VERSION = f"genai-prices {genai_prices.__version__}"
OPENROUTER_PROVIDER = "openrouter"
# OpenRouter's `:free` variants are listed in the catalog with no token prices at all.
FREE_VARIANT = ":free"


@dataclass(frozen=True)
class CatalogModel:
    provider_id: str
    model: ModelInfo

    @property
    def name(self) -> str:
        return f"{self.provider_id}/{self.model.id}"


def catalog_price(model: str, *, at: datetime, input_tokens: int = 0) -> ListPrice | None:
    """The catalog's list price of `model` for a call at `at` with `input_tokens` input tokens in
    all (cache reads and writes included: they choose the tier), or None if the catalog does
    not know the model or lists no token prices for it."""
    found = catalog_model(model)
    if found is None:
        return None
    prices = found.model.get_prices(at)
    prompt = _rate(prices.input_mtok, input_tokens)
    completion = _rate(prices.output_mtok, input_tokens)
    if prompt is None or completion is None:
        if not model.strip().lower().endswith(FREE_VARIANT):
            return None
        prompt = completion = Decimal(0)
    return ListPrice(
        model=model,
        prompt=prompt,
        completion=completion,
        cache_read=_rate(prices.cache_read_mtok, input_tokens),
        cache_write=_rate(prices.cache_write_mtok, input_tokens),
        source=f"catalog ({CATALOG_VERSION}: {found.name})",
    )


@lru_cache(maxsize=4096)
def catalog_model(model: str) -> CatalogModel | None:
    """The catalog's entry for a Tally model id (see the module docstring for how slugs map)."""
    reference = model.strip().lower()
    if not reference:
        return None
    snapshot = data_snapshot.get_snapshot()
    providers = snapshot.providers
    provider_part, slash, name = reference.partition("/")
    if slash:
        # A variant (`:free`, `:thinking`, `:extended`) is only priced where the catalog lists it:
        # at the provider it would read as the base model, and a free call is not billed as one.
        if ":" not in name:
            provider = data_snapshot.find_provider_by_id(providers, provider_part)
            if provider is not None and (found := provider.find_model(name, all_providers=providers)):
                return CatalogModel(provider.id, found)
        openrouter = data_snapshot.find_provider_by_id(providers, OPENROUTER_PROVIDER)
        if openrouter is not None and (found := openrouter.find_model(reference)):
            return CatalogModel(openrouter.id, found)
        return None
    try:
        provider, found = snapshot.find_provider_model(reference, None, None, None)
    except LookupError:
        return None
    return CatalogModel(provider.id, found)


def _rate(price: Decimal | TieredPrices | None, input_tokens: int) -> Decimal | None:
    if price is None or isinstance(price, Decimal):
        return price
    # genai-prices' rule: the highest tier whose start the total input tokens exceed.
    for tier in reversed(price.tiers):
        if input_tokens > tier.start:
            return tier.price
    return price.base
