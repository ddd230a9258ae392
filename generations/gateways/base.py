"""What every gateway adapter returns: one normalised record, or one of a few typed errors.

Adapters do HTTP and parsing only; they never touch the ORM. Whatever a gateway sends, the
caller sees a GatewayGenerationRecord or a GatewayError subclass, nothing else.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class GatewayGenerationRecord:
    """A gateway's account of one generation, in the same shape for every gateway.

    Cost fields are None where the gateway does not report them (KushRouter reports none;
    OpenRouter may send null for any but total_cost and usage).
    """

    id: str
    raw: str  # the response body exactly as received
    served_model: str = ""
    provider: str = ""
    created_at: datetime | None = None
    total_cost: Decimal | None = None
    usage: Decimal | None = None
    upstream_inference_cost: Decimal | None = None
    cache_discount: Decimal | None = None
    credits_used: Decimal | None = None
    tokens_prompt: int | None = None
    tokens_completion: int | None = None
    tokens_cached: int | None = None
    tokens_cache_write: int | None = None
    tokens_reasoning: int | None = None
    is_byok: bool | None = None
    cancelled: bool | None = None
    streamed: bool | None = None
    finish_reason: str = ""
    latency_ms: int | None = None
    key_hash: str = ""
    extra: dict = field(default_factory=dict)  # other fields worth showing, by name


class GatewayError(Exception):
    """A lookup that did not produce a record. `permanent` says whether retrying can help."""

    permanent = False

    def __init__(self, message: str, *, status_code: int | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body  # the answer's body, when there was one (kept for an unreadable record)


class NotFound(GatewayError):
    """The gateway has no record of this id: not yet (inside the grace window), or never."""


class RateLimited(GatewayError):
    """429 (or a 402 with Retry-After: a temporary in-flight budget): try again after
    `retry_after` seconds (None when the gateway did not say)."""

    def __init__(self, message: str, *, retry_after: float | None = None, status_code: int | None = 429) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class Unauthorised(GatewayError):
    """401/403: the key was refused. Retrying with the same key cannot help."""

    permanent = True


class PaymentRequired(GatewayError):
    """402: the account is out of credits. Pause the gateway; the generations are not at fault."""

    permanent = True


class TransientFailure(GatewayError):
    """5xx, 524, 529, timeouts, dropped connections: try again later."""


class BadPayload(GatewayError):
    """The answer is not a record we can read: not JSON, the wrong shape, wrong types, too big."""


class RefusedLookup(BadPayload):
    """400: the gateway refuses the lookup itself (FastRouter: a malformed id). Asking again
    cannot help, so it is an unreadable record at once."""

    permanent = True


@dataclass(frozen=True)
class LookupRequest:
    """One generation to look up, with the secret to authenticate the lookup."""

    generation_id: str
    secret: str


LookupOutcome = GatewayGenerationRecord | GatewayError
