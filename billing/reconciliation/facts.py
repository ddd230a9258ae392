"""What the reconciliation rules are given and what they return: plain values, no ORM.

The rules see our record of a generation (`OurGeneration`), the gateway's normalised record
(`generations.gateways.base.GatewayGenerationRecord`), the list prices in force (`ListPrice`)
and the gateway's tolerances, together a `Case`, and return `Finding`s.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from billing.models import DiscrepancyKind, Severity
from billing.reconciliation.charges import gateway_charge
from generations.gateways.base import GatewayGenerationRecord
from generations.models import GenerationState

# The models' enums, so a finding's kind and severity and a verdict's state are what is stored.
ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO
Kind = DiscrepancyKind
State = GenerationState


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
    # ApiKey.gateway_key_hash: the hash the gateway reports for this key (FastRouter's `api_key`),
    # pinned from the first generation that reported one, or set by an operator; "" until then.
    pinned_key_hash: str = ""
    # Lookups made so far (Generation.attempts).
    attempts: int = 0

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
            pinned_key_hash=generation.api_key.gateway_key_hash,
            attempts=generation.attempts,
        )


@dataclass(frozen=True)
class ListPrice:
    """A model's list price on a gateway, in USD per million tokens, and where it came from
    (`source`: an import, the gateway's own model list, or the catalog and its version; see
    billing/price_book.py for which one is in force)."""

    model: str
    prompt: Decimal
    completion: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    source: str = ""

    @classmethod
    def of(cls, model_price) -> "ListPrice":
        """From a billing.models.ModelPrice row."""
        return cls(
            model=model_price.model,
            prompt=model_price.prompt,
            completion=model_price.completion,
            cache_read=model_price.cache_read,
            cache_write=model_price.cache_write,
            source=model_price.source_description,
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
class Case:
    """Everything the rules look at for one generation."""

    ours: OurGeneration
    record: GatewayGenerationRecord
    prices: Prices
    tolerance: Tolerance
    discount: Decimal = Decimal(0)  # the gateway's discount off list price, 0.30 = 30% off

    @cached_property
    def charged(self) -> Decimal | None:
        return gateway_charge(
            kind=self.ours.gateway_kind, record=self.record, price=self.prices.charged, discount=self.discount
        )


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


@dataclass(frozen=True)
class GatewayFacts:
    """What the rules need to know about the gateway a generation was looked up on."""

    kind: str
    grace_seconds: int
    retention_days: int | None
    # Lookups use the gateway's own credential (a refusal pauses the gateway, not the key).
    uses_lookup_credential: bool
    tolerance: Tolerance = Tolerance()
    discount: Decimal = Decimal(0)

    @classmethod
    def of(cls, gateway) -> "GatewayFacts":
        return cls(
            kind=gateway.kind,
            grace_seconds=gateway.grace_seconds,
            retention_days=gateway.retention_days,
            uses_lookup_credential=bool(gateway.lookup_secret_encrypted),
            tolerance=Tolerance.of(gateway),
            discount=gateway.discount,
        )


# What deciding may ask the writer to do besides writing the generation: intents, carried out by
# billing/reconciliation/services/writes.py, so that deciding has no side effects.


@dataclass(frozen=True)
class PauseGateway:
    """Stop lookups on the generation's gateway (402: out of credits; a refused lookup credential)."""

    reason: str


@dataclass(frozen=True)
class PauseKey:
    """Stop lookups with the generation's key (401: the gateway refuses it)."""

    reason: str


@dataclass(frozen=True)
class PinKeyHash:
    """Pin the hash the gateway reported for the generation's key (the first one it reported)."""

    key_hash: str


Intent = PauseGateway | PauseKey | PinKeyHash


@dataclass(frozen=True)
class Settle:
    """Decided: the generation's final state, its findings, what the gateway said, and when to
    re-check it (missing and unreadable ones; None: never)."""

    state: str
    findings: list[Finding]
    record: GatewayGenerationRecord | None = None
    charged_cost: Decimal | None = None
    recheck_at: datetime | None = None
    raw_body: str | None = None  # an answer that could not be read, kept for audit
    intents: tuple[Intent, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Retry:
    """Count the attempt and look the generation up again at `when`."""

    when: datetime
    intents: tuple[Intent, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Release:
    """Give the generation back without counting an attempt (its gateway or key is paused)."""

    intents: tuple[Intent, ...] = field(default_factory=tuple)


Decision = Settle | Retry | Release
