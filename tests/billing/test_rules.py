"""Reconciliation rules: one test (at least) per finding kind. Pure: no database, no HTTP."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing.reconciliation import reading, rules
from billing.reconciliation.facts import ERROR, INFO, WARNING, Case, ListPrice, OurGeneration, Prices, Tolerance
from billing.reconciliation.rules import findings_for, verdict
from generations.gateways.base import GatewayGenerationRecord

CREATED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
FINGERPRINT = "3f7a9c0d" + "e" * 56
GPT = ListPrice(model="openai/gpt-x", prompt=Decimal("2.5"), completion=Decimal("10"))
CLAUDE = ListPrice(
    model="claude-sonnet",
    prompt=Decimal("3"),
    completion=Decimal("15"),
    cache_read=Decimal("0.3"),
    cache_write=Decimal("3.75"),
)


def ours(**changes) -> OurGeneration:
    generation = OurGeneration(
        gateway_kind="openrouter",
        model="openai/gpt-x",
        created_at=CREATED,
        tokens_prompt=1000,
        tokens_completion=200,
        tokens_cached=0,
        tokens_reasoning=0,
        cost=Decimal("0.0045"),  # 1000 x 2.5 + 200 x 10 per million
        is_byok=False,
        cancelled=False,
        key_fingerprint=FINGERPRINT,
    )
    return replace(generation, **changes)


def openrouter(**changes) -> GatewayGenerationRecord:
    record = GatewayGenerationRecord(
        id="gen-1",
        raw="{}",
        served_model="openai/gpt-x",
        total_cost=Decimal("0.0045"),
        usage=Decimal("0.0045"),
        upstream_inference_cost=Decimal("0.0045"),
        tokens_prompt=1000,
        tokens_completion=200,
        tokens_cached=0,
        tokens_reasoning=0,
        is_byok=False,
        cancelled=False,
    )
    return replace(record, **changes)


def check(generation: OurGeneration, record: GatewayGenerationRecord, prices=Prices(GPT, GPT), **kwargs):
    return findings_for(Case(ours=generation, record=record, prices=prices, tolerance=Tolerance(), **kwargs))


def kinds(findings) -> list[str]:
    return [finding.kind for finding in findings]


def only(findings, kind: str):
    [finding] = [finding for finding in findings if finding.kind == kind]
    return finding


def test_it_finds_nothing_when_everything_agrees():
    findings = check(ours(), openrouter())
    assert findings == []
    assert verdict(findings) == "verified"


def test_it_reads_openrouter_non_byok_charge_as_total_cost_never_plus_upstream():
    # upstream_inference_cost is a breakdown of total_cost; adding it would double the charge.
    case = Case(ours=ours(), record=openrouter(), prices=Prices(GPT, GPT), tolerance=Tolerance())
    assert case.charged == Decimal("0.0045")
    assert "cost_mismatch" not in kinds(findings_for(case))


def test_it_reports_cost_mismatch_beyond_tolerance_with_expected_actual_and_delta():
    findings = check(ours(cost=Decimal("0.0040")), openrouter(), prices=Prices())
    finding = only(findings, "cost_mismatch")
    assert (finding.severity, finding.expected, finding.actual, finding.delta) == (
        ERROR,
        Decimal("0.0040"),
        Decimal("0.0045"),
        Decimal("0.0005"),
    )
    assert verdict(findings) == "disputed"


def test_it_accepts_cost_differences_within_the_default_tolerance():
    # 0.1% of 0.0045 is 0.0000045: a difference of 0.000004 agrees, 0.000005 does not.
    assert check(ours(cost=Decimal("0.004504")), openrouter(), prices=Prices()) == []
    assert kinds(check(ours(cost=Decimal("0.004505")), openrouter(), prices=Prices())) == ["cost_mismatch"]
    # On tiny amounts the absolute floor (0.000001 USD) applies.
    tiny = ours(cost=Decimal("0.0000019"))
    assert check(tiny, openrouter(total_cost=Decimal("0.000001"), usage=Decimal("0.000001")), prices=Prices()) == []


def test_it_charges_openrouter_byok_fee_plus_upstream_cost():
    byok = ours(is_byok=True, cost=Decimal("0.004725"))  # 0.0045 at the provider + 5% fee
    record = openrouter(is_byok=True, total_cost=Decimal("0.000225"), usage=Decimal("0.000225"))
    case = Case(ours=byok, record=record, prices=Prices(GPT, GPT), tolerance=Tolerance())
    assert case.charged == Decimal("0.004725")
    assert findings_for(case) == []


def test_it_flags_a_byok_key_that_fell_back_to_shared_capacity_at_full_price():
    byok = ours(is_byok=True, cost=Decimal("0.004725"))
    findings = check(byok, openrouter(is_byok=False))
    finding = only(findings, "byok_mismatch")
    assert (finding.severity, finding.expected, finding.actual) == (ERROR, Decimal(1), Decimal(0))
    assert "charged it in full" in finding.detail
    # Charged in full (0.0045 from credits), so the recorded fee-plus-upstream is off too.
    assert "cost_mismatch" in kinds(findings)
    assert verdict(findings) == "disputed"


def test_it_flags_a_byok_fee_that_is_not_five_percent():
    record = openrouter(is_byok=True, total_cost=Decimal("0.00045"), usage=Decimal("0.00045"))  # 10%
    findings = check(ours(is_byok=True, cost=Decimal("0.00495")), record)
    finding = only(findings, "byok_fee_unexpected")
    assert (finding.expected, finding.actual) == (Decimal("0.000225"), Decimal("0.00045"))
    assert kinds(findings) == ["byok_fee_unexpected"]


def test_it_accepts_a_zero_byok_fee_but_not_a_byok_call_without_upstream_cost():
    free = openrouter(is_byok=True, total_cost=Decimal("0"), usage=Decimal("0"))
    assert check(ours(is_byok=True), free) == []
    no_upstream = openrouter(
        is_byok=True, total_cost=Decimal("0.000225"), usage=Decimal("0.000225"), upstream_inference_cost=None
    )
    findings = check(ours(is_byok=True, cost=Decimal("0.000225")), no_upstream)
    assert "byok_fee_unexpected" in kinds(findings)
    assert "no upstream" in only(findings, "byok_fee_unexpected").detail


def test_it_flags_openrouter_usage_that_differs_from_total_cost():
    findings = check(ours(), openrouter(usage=Decimal("0.0050")))
    finding = only(findings, "upstream_inconsistent")
    assert (finding.expected, finding.actual, finding.delta) == (Decimal("0.0045"), Decimal("0.0050"), Decimal("0.0005"))
    assert kinds(findings) == ["upstream_inconsistent"]


def test_it_flags_a_charge_that_list_price_and_tokens_do_not_explain():
    record = openrouter(total_cost=Decimal("0.0060"), usage=Decimal("0.0060"))
    findings = check(ours(cost=Decimal("0.0060")), record)
    finding = only(findings, "price_mismatch")
    assert (finding.expected, finding.actual) == (Decimal("0.0045"), Decimal("0.0060"))
    assert kinds(findings) == ["price_mismatch"]


def test_it_takes_a_positive_cache_discount_off_the_list_price():
    record = openrouter(
        tokens_cached=800, cache_discount=Decimal("0.0018"), total_cost=Decimal("0.0027"), usage=Decimal("0.0027")
    )
    assert check(ours(tokens_cached=800, cost=Decimal("0.0027")), record) == []


def test_it_does_not_report_a_negative_cache_discount_as_a_saving():
    # A cache write costs more than the prompt price: the discount is negative and adds to the bill.
    record = openrouter(cache_discount=Decimal("-0.0009"), total_cost=Decimal("0.0054"), usage=Decimal("0.0054"))
    assert check(ours(cost=Decimal("0.0054")), record) == []
    # Read as a saving, the same discount would have made 0.0036 the right price.
    wrong = openrouter(cache_discount=Decimal("-0.0009"), total_cost=Decimal("0.0036"), usage=Decimal("0.0036"))
    finding = only(check(ours(cost=Decimal("0.0036")), wrong), "price_mismatch")
    assert finding.expected == Decimal("0.0054")
    assert "negative cache discount" in finding.detail
    assert "saving" not in finding.detail


def test_it_counts_reasoning_tokens_as_output():
    # The gateway's 250 completion tokens include 50 of reasoning; all 250 are billed at the output price.
    record = openrouter(tokens_completion=250, tokens_reasoning=50, total_cost=Decimal("0.005"), usage=Decimal("0.005"))
    recorded_apart = ours(tokens_completion=200, tokens_reasoning=50, cost=Decimal("0.005"))
    recorded_together = ours(tokens_completion=250, tokens_reasoning=50, cost=Decimal("0.005"))
    assert check(recorded_apart, record) == []
    assert check(recorded_together, record) == []
    # Priced without the reasoning tokens, the charge would be unexplained.
    assert "price_mismatch" in kinds(check(ours(), replace(record, total_cost=Decimal("0.0045"))))


def test_it_flags_token_counts_that_differ_from_the_gateway():
    findings = check(ours(tokens_prompt=900, tokens_cached=10), openrouter())
    finding = only(findings, "token_mismatch")
    assert (finding.expected, finding.actual, finding.delta) == (Decimal(900), Decimal(1000), Decimal(100))
    assert "prompt: recorded 900, gateway 1000" in finding.detail
    assert "cached: recorded 10, gateway 0" in finding.detail


def test_it_ignores_token_counts_the_gateway_does_not_report():
    assert check(ours(), openrouter(tokens_cached=None, tokens_reasoning=None)) == []


def test_it_matches_a_dated_model_slug_with_its_undated_request():
    assert check(ours(), openrouter(served_model="openai/gpt-x-20260709")) == []
    assert reading.same_model("gpt-5-mini", "gpt-5-mini-2025-08-07")
    assert reading.same_model("openai/gpt-5-mini", "gpt-5-mini-2025-08-07")


def test_it_warns_about_a_substituted_model_at_the_same_price():
    findings = check(ours(), openrouter(served_model="openai/gpt-y"), prices=Prices(GPT, replace(GPT, model="openai/gpt-y")))
    finding = only(findings, "model_substituted")
    assert finding.severity == WARNING
    assert "openai/gpt-y" in finding.detail
    assert verdict(findings) == "verified"


def test_it_disputes_a_substituted_model_at_another_price():
    cheaper = ListPrice(model="openai/gpt-x-mini", prompt=Decimal("0.25"), completion=Decimal("1"))
    record = openrouter(served_model="openai/gpt-x-mini", total_cost=Decimal("0.00045"), usage=Decimal("0.00045"))
    findings = check(ours(cost=Decimal("0.00045")), record, prices=Prices(GPT, cheaper))
    finding = only(findings, "model_substituted")
    assert (finding.severity, finding.expected, finding.actual) == (ERROR, Decimal("0.0045"), Decimal("0.00045"))
    assert kinds(findings) == ["model_substituted"]


def fastrouter(**changes) -> GatewayGenerationRecord:
    record = GatewayGenerationRecord(
        id="fr-1",
        raw="{}",
        served_model="openai/gpt-x",
        credits_used=Decimal("0.0045"),
        tokens_prompt=1000,
        tokens_completion=200,
        is_byok=False,
        key_hash=FINGERPRINT,
    )
    return replace(record, **changes)


def test_it_reads_fastrouter_charge_as_credits_used():
    generation = ours(gateway_kind="fastrouter")
    assert check(generation, fastrouter()) == []
    finding = only(check(generation, fastrouter(credits_used=Decimal("0.005"))), "cost_mismatch")
    assert finding.actual == Decimal("0.005")


def test_it_flags_a_fastrouter_key_hash_that_disagrees_with_the_pinned_one():
    pinned = "9a9a9a9a" + "1" * 56  # FastRouter's own hash of the key: not SHA-256 of its secret
    other = "0b1c2d3e" + "f" * 56
    assert check(ours(gateway_kind="fastrouter", pinned_key_hash=pinned), fastrouter(key_hash=pinned)) == []
    findings = check(ours(gateway_kind="fastrouter", pinned_key_hash=pinned), fastrouter(key_hash=other))
    finding = only(findings, "key_mismatch")
    assert finding.severity == ERROR
    assert other[:16] in finding.detail
    assert kinds(findings) == ["key_mismatch"]
    # The full hash of our key, or a prefix of it, is ours.
    assert check(ours(gateway_kind="fastrouter", pinned_key_hash=pinned), fastrouter(key_hash=FINGERPRINT[:12].upper())) == []
    # Before a hash is pinned, any hash is the key's own (the writer pins it).
    assert check(ours(gateway_kind="fastrouter"), fastrouter(key_hash=other)) == []


def kushrouter(**changes) -> GatewayGenerationRecord:
    record = GatewayGenerationRecord(
        id="msg_1",
        raw="{}",
        served_model="claude-sonnet-20250514",
        tokens_prompt=1000,
        tokens_completion=500,
        tokens_cached=20000,
        tokens_cache_write=4000,
    )
    return replace(record, **changes)


def test_it_computes_the_kushrouter_charge_from_prices_with_cache_reads_and_writes():
    # 1000 x 3 + 500 x 15 + 20000 x 0.3 + 4000 x 3.75 = 31,500 per million = 0.0315; 30% off.
    generation = ours(
        gateway_kind="kushrouter", model="claude-sonnet", tokens_completion=500, tokens_cached=20000, cost=Decimal("0.02205")
    )
    case = Case(ours=generation, record=kushrouter(), prices=Prices(CLAUDE, None), tolerance=Tolerance(), discount=Decimal("0.30"))
    assert case.charged == Decimal("0.02205")
    assert findings_for(case) == []


def test_it_cannot_verify_a_kushrouter_generation_without_a_list_price():
    generation = ours(gateway_kind="kushrouter", model="claude-sonnet", tokens_completion=500, tokens_cached=20000)
    findings = check(generation, kushrouter(), prices=Prices())
    finding = only(findings, "cost_mismatch")
    assert finding.actual is None
    assert "No list price" in finding.detail
    assert verdict(findings) == "disputed"


def test_it_notes_a_cancelled_but_billed_call_as_information_only():
    findings = check(ours(cancelled=True), openrouter(cancelled=True))
    finding = only(findings, "cancelled_billed")
    assert (finding.severity, finding.actual) == (INFO, Decimal("0.0045"))
    assert verdict(findings) == "verified"
    free = openrouter(cancelled=True, total_cost=Decimal(0), usage=Decimal(0), upstream_inference_cost=Decimal(0))
    assert "cancelled_billed" not in kinds(check(ours(cancelled=True, cost=Decimal(0)), free, prices=Prices()))


def test_it_declares_a_generation_missing_only_after_the_grace_window():
    inside = CREATED + timedelta(seconds=599)
    assert rules.missing_upstream(created_at=CREATED, now=inside, grace_seconds=600) is None
    finding = rules.missing_upstream(created_at=CREATED, now=CREATED + timedelta(seconds=600), grace_seconds=600)
    assert (finding.kind, finding.severity) == ("missing_upstream", ERROR)


def test_it_declares_a_generation_expired_after_the_gateway_retention():
    day_six, day_seven = CREATED + timedelta(days=6, hours=23), CREATED + timedelta(days=7)
    assert rules.expired_unverified(created_at=CREATED, now=day_six, retention_days=7) is None
    assert rules.expired_unverified(created_at=CREATED, now=day_seven + timedelta(days=300), retention_days=None) is None
    finding = rules.expired_unverified(created_at=CREATED, now=day_seven, retention_days=7)
    assert (finding.kind, finding.severity) == ("expired_unverified", ERROR)


def test_it_honours_a_gateway_specific_tolerance():
    loose = Tolerance(absolute=Decimal("0.001"), relative=Decimal("0"))
    case = Case(ours=ours(cost=Decimal("0.0050")), record=openrouter(), prices=Prices(), tolerance=loose)
    assert findings_for(case) == []


def test_finding_texts_write_tiny_and_zero_amounts_as_plain_decimals_with_units():
    findings = check(ours(cost=Decimal("0E-18")), openrouter(total_cost=Decimal("1.2345678901234E-5"),
                                                          usage=Decimal("1.2345678901234E-5")), prices=Prices())
    detail = only(findings, "cost_mismatch").detail
    assert detail == "Recorded 0 USD, the gateway charged 0.000012345678901234 USD."
    assert "E-" not in detail and "e-" not in detail
