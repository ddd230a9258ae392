"""What the reconciliation rules are given and what they return: plain values, no ORM.

The rules see our record of a generation (`OurGeneration`), the gateway's normalised record
(`generations.gateways.base.GatewayGenerationRecord`), the list prices in force (`ListPrice`)
and the gateway's tolerances, and return `Finding`s.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from lib.constants import MONEY_PLACES

ERROR = "error"
WARNING = "warning"
INFO = "info"

# The smallest amount a generation's cost or a price can store (lib.constants.MONEY_PLACES).
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
# List prices are in USD per million tokens.
PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class OurGeneration:
    """Our record of one call, as the team reported it."""

    gateway_kind: str
    model: str
    created_at: datetime
    tokens_prompt: int
    tokens_completion: int
    tokens_cached: int
    tokens_reasoning: int
    cost: Decimal
    # BYOK if either the generation was recorded as BYOK or the key it was made with is a BYOK key.
    is_byok: bool
    cancelled: bool
    # ApiKey.fingerprint: SHA-256 hex of the key's secret, compared with gateway key hashes.
    key_fingerprint: str

    @classmethod
    def of(cls, generation) -> "OurGeneration":
        """From a generations.models.Generation with its api_key and gateway loaded."""
        return cls(
            gateway_kind=generation.gateway.kind,
            model=generation.model,
            created_at=generation.created_at,
            tokens_prompt=generation.tokens_prompt,
            tokens_completion=generation.tokens_completion,
            tokens_cached=generation.tokens_cached,
            tokens_reasoning=generation.tokens_reasoning,
            cost=generation.cost,
            is_byok=generation.is_byok or generation.api_key.is_byok,
            cancelled=generation.cancelled,
            key_fingerprint=generation.api_key.fingerprint,
        )


@dataclass(frozen=True)
class ListPrice:
    """A model's list price on a gateway, in USD per million tokens (billing.models.ModelPrice)."""

    model: str
    prompt: Decimal
    completion: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None

    @classmethod
    def of(cls, model_price) -> "ListPrice":
        return cls(
            model=model_price.model,
            prompt=model_price.prompt,
            completion=model_price.completion,
            cache_read=model_price.cache_read,
            cache_write=model_price.cache_write,
        )

    def same_rates_as(self, other: "ListPrice") -> bool:
        return (self.prompt, self.completion, self.cache_read, self.cache_write) == (
            other.prompt,
            other.completion,
            other.cache_read,
            other.cache_write,
        )


@dataclass(frozen=True)
class Prices:
    """The prices in force on the generation's day: for the model we asked for, and for the
    model the gateway says it served (the same price when the slugs match)."""

    requested: ListPrice | None = None
    served: ListPrice | None = None

    @property
    def charged(self) -> ListPrice | None:
        """The price the gateway should have charged at: the served model's, if we know it."""
        return self.served or self.requested


@dataclass(frozen=True)
class Tolerance:
    """How far two amounts may differ and still agree: max(absolute, relative x the larger)."""

    absolute: Decimal = Decimal("0.000001")
    relative: Decimal = Decimal("0.001")

    @classmethod
    def of(cls, gateway) -> "Tolerance":
        return cls(absolute=gateway.tolerance_absolute, relative=gateway.tolerance_relative)

    def allowed(self, first: Decimal, second: Decimal) -> Decimal:
        return max(self.absolute, self.relative * max(abs(first), abs(second)))

    def differ(self, first: Decimal, second: Decimal) -> bool:
        return abs(first - second) > self.allowed(first, second)


@dataclass(frozen=True)
class Finding:
    """One discrepancy found on one generation. Expected is our side (or what the rules say it
    should be), actual is the gateway's; delta = actual - expected."""

    kind: str
    severity: str
    expected: Decimal | None = None
    actual: Decimal | None = None
    detail: str = ""

    @property
    def delta(self) -> Decimal | None:
        if self.expected is None or self.actual is None:
            return None
        return self.actual - self.expected

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR
