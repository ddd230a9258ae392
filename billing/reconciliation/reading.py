"""How the rules read a gateway's record: model slugs, key hashes, cache hits and charges that
are not tokens. Pure functions of the record, no database; billing/reconciliation/rules.py decides
what the readings mean."""

import re
from decimal import Decimal

from billing.reconciliation.facts import OurGeneration
from generations.gateways.base import GatewayGenerationRecord

# A dated snapshot of a model (openai/gpt-x-20260709, gpt-5-mini-2025-08-07) is the model asked for.
DATED_SLUG_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")
# OpenRouter api_types billed by the token; any other (embeddings, rerank, tts, image, ...) is not.
TOKEN_API_TYPES = frozenset({"completions", "chat", "responses", "messages"})
# Service tiers priced other than the list price per token.
TIERED_SERVICE_TIERS = frozenset({"flex", "priority"})
# Counters of OpenRouter charges that are not tokens; list prices per token do not price them.
NON_TOKEN_COUNTERS = (
    ("num_search_results", "web search results"),
    ("num_fetches", "web fetches"),
    ("num_media_prompt", "media in the prompt"),
    ("num_media_completion", "media in the completion"),
    ("num_input_audio_prompt", "audio input"),
    ("native_tokens_completion_images", "image output"),
)


def is_cache_hit(record: GatewayGenerationRecord) -> bool:
    """An OpenRouter response-cache hit: a source generation named and every billable counter 0."""
    if not record.extra.get("response_cache_source_id"):
        return False
    counters = (record.tokens_prompt, record.tokens_completion, record.tokens_cached, record.tokens_reasoning)
    return all(not count for count in counters) and not record.total_cost


def price_unchecked_reason(record: GatewayGenerationRecord) -> str:
    """Why per-token list prices cannot explain this record's charge, or "" if they can."""
    reasons = [label for name, label in NON_TOKEN_COUNTERS if _positive(record.extra.get(name))]
    api_type = record.extra.get("api_type")
    if isinstance(api_type, str) and api_type and api_type.lower() not in TOKEN_API_TYPES:
        reasons.append(f"api_type {api_type[:40]}")
    tier = record.extra.get("service_tier")
    if isinstance(tier, str) and tier.lower() in TIERED_SERVICE_TIERS:
        reasons.append(f"the {tier.lower()} service tier")
    if not reasons:
        return ""
    return "it includes charges that are not tokens or not at list price (" + ", ".join(reasons) + ")"


def _positive(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value > 0


def should_pin_key_hash(ours: OurGeneration, key_hash: str) -> bool:
    """A key's first reported hash is pinned, unless it is the SHA-256 of the secret (always ours)."""
    return bool(key_hash) and not ours.pinned_key_hash and not key_hash_matches(key_hash, ours.key_fingerprint)


def same_key_hash(first: str, second: str) -> bool:
    return first.strip().lower() == second.strip().lower()


def same_model(requested: str, served: str) -> bool:
    """Same model, ignoring case, dated snapshot suffixes, and the provider prefix when only one
    side has one (KushRouter names models without it)."""
    first, second = normalise_model_slug(requested), normalise_model_slug(served)
    if ("/" in first) != ("/" in second):
        first, second = first.rsplit("/", 1)[-1], second.rsplit("/", 1)[-1]
    return first == second


def normalise_model_slug(slug: str) -> str:
    return DATED_SLUG_SUFFIX.sub("", slug.strip().lower())


def key_hash_matches(key_hash: str, fingerprint: str) -> bool:
    key_hash = key_hash.strip().lower().removeprefix("sha256:")
    return len(key_hash) >= 8 and fingerprint.lower().startswith(key_hash)
