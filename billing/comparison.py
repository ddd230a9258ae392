"""Our record of a generation beside the gateway's, field by field, for the spend pages and the
discrepancy case file."""

from typing import NamedTuple

from billing.reconciliation.reading import same_model
from generations.models import GatewayRecord, Generation


class ComparedField(NamedTuple):
    label: str
    kind: str  # "text", "count", "money" or "flag": how the values are written
    ours: object  # None: we record no such thing
    theirs: object  # None: the gateway did not say

    @property
    def differs(self) -> bool:
        """Both sides known and not the same (models compare as the rules do)."""
        if self.ours in (None, "") or self.theirs in (None, ""):
            return False
        if self.label == "Model":
            return not same_model(str(self.ours), str(self.theirs))
        return self.ours != self.theirs


def generation_comparison(generation: Generation, record: GatewayRecord | None) -> list[ComparedField]:
    """Rows of what we recorded beside what the gateway said; fields neither side has are left out."""

    def theirs(field: str) -> object:
        return getattr(record, field) if record else None

    rows = [
        ComparedField("Model", "text", generation.model, theirs("served_model")),
        ComparedField("Provider", "text", None, theirs("provider")),
        ComparedField("Prompt tokens", "count", generation.tokens_prompt, theirs("tokens_prompt")),
        ComparedField("Completion tokens", "count", generation.tokens_completion, theirs("tokens_completion")),
        ComparedField("Cached tokens", "count", generation.tokens_cached, theirs("tokens_cached")),
        ComparedField("Cache write tokens", "count", None, theirs("tokens_cache_write")),
        ComparedField("Reasoning tokens", "count", generation.tokens_reasoning, theirs("tokens_reasoning")),
        ComparedField("Cost (recorded / charged)", "money", generation.cost, generation.charged_cost),
        ComparedField("Gateway total cost", "money", None, theirs("total_cost")),
        ComparedField("Upstream inference cost", "money", None, theirs("upstream_inference_cost")),
        ComparedField("Cache discount", "money", None, theirs("cache_discount")),
        ComparedField("Credits used", "money", None, theirs("credits_used")),
        ComparedField("BYOK", "flag", generation.is_byok, theirs("is_byok")),
        ComparedField("Cancelled", "flag", generation.cancelled, theirs("cancelled")),
        ComparedField("Streamed", "flag", generation.streamed, theirs("streamed")),
    ]
    # Gateway-only fields the gateway did not send say nothing: leave them out.
    return [row for row in rows if row.ours not in (None, "") or row.theirs not in (None, "")]
