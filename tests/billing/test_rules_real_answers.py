"""Rules on what real gateways send (BYOK at zero cost, response-cache hits, charges that are not
tokens, pinned key hashes), and `decide`: the verdict's precedence, with intents, no side effects."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import DiscrepancyKind, Severity
from billing.reconciliation import facts, rules
from billing.reconciliation.charges import kushrouter_cost
from billing.reconciliation.facts import (
    GatewayFacts,
    ListPrice,
    PauseGateway,
    PauseKey,
    PinKeyHash,
    Prices,
    Release,
    Retry,
    Settle,
)
from generations.gateways.base import (
    BadPayload,
    NotFound,
    PaymentRequired,
    RateLimited,
    RefusedLookup,
    TransientFailure,
    Unauthorised,
)
from generations.models import GenerationState
from generations.scheduling import MISSING_MIN_LOOKUPS
from tests.billing.test_rules import CREATED, GPT, check, kinds, only, openrouter, ours

OPENROUTER = GatewayFacts(kind="openrouter", grace_seconds=600, retention_days=None, uses_lookup_credential=False)
NOW = CREATED + timedelta(minutes=1)


def decide(outcome, *, generation=None, gateway=OPENROUTER, now=NOW, prices=Prices(GPT, GPT)):
    return rules.decide(ours=generation or ours(), gateway=gateway, outcome=outcome, prices=prices, now=now)


def test_a_byok_call_at_zero_upstream_cost_and_zero_fee_is_verified():
    free = openrouter(is_byok=True, total_cost=Decimal(0), usage=Decimal(0), upstream_inference_cost=Decimal(0))
    assert check(ours(is_byok=True, cost=Decimal(0)), free) == []


def test_a_byok_call_with_no_upstream_cost_at_all_is_still_an_error():
    unknown = openrouter(is_byok=True, total_cost=Decimal(0), usage=Decimal(0), upstream_inference_cost=None)
    assert "byok_fee_unexpected" in kinds(check(ours(is_byok=True, cost=Decimal(0)), unknown))


def test_a_response_cache_hit_is_verified_at_zero_with_a_note_naming_its_source():
    hit = openrouter(
        total_cost=Decimal(0), usage=Decimal(0), upstream_inference_cost=Decimal(0), tokens_prompt=0,
        tokens_completion=0, extra={"response_cache_source_id": "gen-original"},
    )  # fmt: skip

    findings = check(ours(cost=Decimal(0)), hit)

    assert kinds(findings) == ["cache_hit"]
    assert only(findings, "cache_hit").severity == Severity.INFO
    assert "gen-original" in only(findings, "cache_hit").detail
    assert rules.verdict(findings) == "verified"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"num_search_results": 5}, "web search results"),
        ({"num_fetches": 2}, "web fetches"),
        ({"num_media_prompt": 1}, "media in the prompt"),
        ({"native_tokens_completion_images": 1290}, "image output"),
        ({"api_type": "embeddings"}, "api_type embeddings"),
        ({"service_tier": "flex"}, "flex service tier"),
    ],
)
def test_charges_that_are_not_tokens_are_not_priced_and_the_record_says_why(extra, reason):
    # Billed more than tokens at list price explain; the difference is the search, media, tier...
    record = openrouter(total_cost=Decimal("0.0095"), usage=Decimal("0.0095"), extra=extra)

    findings = check(ours(cost=Decimal("0.0095")), record)

    assert kinds(findings) == ["price_unchecked"]
    assert reason in only(findings, "price_unchecked").detail
    assert rules.verdict(findings) == "verified"


def test_tokens_at_list_price_are_still_priced():
    record = openrouter(total_cost=Decimal("0.0095"), usage=Decimal("0.0095"), extra={"api_type": "completions"})
    assert kinds(check(ours(cost=Decimal("0.0095")), record)) == ["price_mismatch"]


def test_kushrouter_openai_models_do_not_count_cached_prompt_tokens_twice():
    price = ListPrice(model="gpt-4o", prompt=Decimal("2.5"), completion=Decimal("10"), cache_read=Decimal("1.25"))
    openai_usage = openrouter(served_model="gpt-4o", tokens_prompt=1000, tokens_completion=0, tokens_cached=400)
    claude_usage = replace(openai_usage, served_model="claude-sonnet-4")
    # OpenAI: 600 uncached + 400 cached; Claude: 1000 uncached + 400 cached on top.
    assert kushrouter_cost(record=openai_usage, price=price, discount=Decimal(0)) == Decimal("0.002")
    assert kushrouter_cost(record=claude_usage, price=price, discount=Decimal(0)) == Decimal("0.003")


def test_the_rules_speak_the_models_enums():
    assert {facts.ERROR, facts.WARNING, facts.INFO} == set(Severity.values)
    assert facts.State is GenerationState and facts.Kind is DiscrepancyKind
    source = open(rules.__file__).read()
    used = {name.lower() for name in DiscrepancyKind.names if f"Kind.{name}" in source}
    assert used and used <= set(DiscrepancyKind.values)
    assert '"cost_mismatch"' not in source  # kinds are named through the enum, never as strings
    assert '"verified"' not in source and '"disputed"' not in source  # nor states


# decide: the precedence -------------------------------------------------------------------------


def test_a_record_settles_and_asks_to_pin_the_first_key_hash_reported():
    decision = decide(replace(openrouter(), key_hash="frk_abc"))
    assert isinstance(decision, Settle) and decision.state == "verified"
    assert decision.intents == (PinKeyHash("frk_abc"),)
    pinned = decide(replace(openrouter(), key_hash="frk_abc"), generation=ours(pinned_key_hash="frk_abc"))
    assert pinned.intents == ()


def test_a_402_pauses_the_gateway_and_a_401_the_key_as_intents():
    assert decide(PaymentRequired("402")) == Release(intents=(PauseGateway("Payment required (402): 402"),))
    assert isinstance(decide(Unauthorised("401")).intents[0], PauseKey)
    with_credential = replace(OPENROUTER, uses_lookup_credential=True)
    assert isinstance(decide(Unauthorised("401"), gateway=with_credential).intents[0], PauseGateway)


def test_a_402_with_retry_after_is_retried_after_it():
    decision = decide(RateLimited("402", retry_after=30, status_code=402))
    assert isinstance(decision, Retry) and decision.when >= NOW + timedelta(seconds=30)
    assert decision.intents == ()


def test_past_retention_it_is_expired_whatever_the_answer():
    kush = replace(OPENROUTER, kind="kushrouter", retention_days=7)
    decision = decide(NotFound("404"), gateway=kush, now=CREATED + timedelta(days=8))
    assert isinstance(decision, Settle) and decision.state == "expired"


def test_a_404_is_missing_only_after_the_grace_window_and_three_lookups():
    after_grace = CREATED + timedelta(seconds=601)
    early = decide(NotFound("404"), generation=ours(attempts=MISSING_MIN_LOOKUPS - 2), now=after_grace)
    assert isinstance(early, Retry)
    inside = decide(NotFound("404"), generation=ours(attempts=5), now=CREATED + timedelta(seconds=300))
    assert isinstance(inside, Retry)
    missing = decide(NotFound("404"), generation=ours(attempts=MISSING_MIN_LOOKUPS - 1), now=after_grace)
    assert isinstance(missing, Settle) and missing.state == "missing"
    assert missing.recheck_at is not None and missing.recheck_at > after_grace


def test_an_unreadable_answer_is_retried_then_becomes_a_finding_with_its_body():
    error = BadPayload("not JSON", body="<html>")
    assert isinstance(decide(error, generation=ours(attempts=3)), Retry)
    decision = decide(error, generation=ours(attempts=9))
    assert isinstance(decision, Settle) and decision.state == "disputed"
    assert [finding.kind for finding in decision.findings] == ["unreadable_record"]
    assert decision.raw_body == "<html>" and decision.recheck_at is not None


def test_a_lookup_the_gateway_refuses_is_a_finding_at_once():
    decision = decide(RefusedLookup("HTTP 400: Invalid generation_id format", body="{}"))
    assert isinstance(decision, Settle) and decision.findings[0].kind == "unreadable_record"


def test_transient_failures_are_retried():
    assert isinstance(decide(TransientFailure("502")), Retry)
