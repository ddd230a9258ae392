"""Coverage rules: matching keys, comparing a key's day, what cannot be checked. No database."""

import hashlib
from datetime import date
from decimal import Decimal

from billing.coverage import rules
from billing.reconciliation.facts import Tolerance
from generations.gateways.openrouter_activity import ActivityRow, GatewayKey

SECRET_A = "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"
SECRET_B = "sk-or-v1-0e6f99999999999999999999999999999999999999999999999999999999999c96"
DAY = date(2026, 11, 30)


def tally_key(key_id: int, secret: str) -> rules.TallyKey:
    return rules.TallyKey(id=key_id, fingerprint=hashlib.sha256(secret.encode()).hexdigest(), secret=secret)


def gateway_key(key_hash: str, label: str) -> GatewayKey:
    return GatewayKey(hash=key_hash, label=label, name="", disabled=False)


def row(model: str = "openai/gpt-4o-mini", *, usage: str = "0.01", byok: str = "0", requests: int = 2) -> ActivityRow:
    return ActivityRow(
        day=DAY, model=model, model_permaslug=model, endpoint_id="e", provider_name="OpenAI",
        usage=Decimal(usage), byok_usage_inference=Decimal(byok), requests=requests,
        prompt_tokens=10, completion_tokens=5, reasoning_tokens=0,
    )


def ours(model: str = "openai/gpt-4o-mini", *, cost: str = "0.01", requests: int = 2) -> rules.TallyModelDay:
    return rules.TallyModelDay(model=model, totals=rules.Totals(requests=requests, cost=Decimal(cost)))


def test_a_key_whose_hash_is_its_secrets_sha256_is_matched_whatever_its_label():
    key = gateway_key(hashlib.sha256(SECRET_A.encode()).hexdigest(), "Production API Key")
    matching = rules.match_keys([tally_key(1, SECRET_A)], [key])
    assert matching.matched == {1: key}
    assert matching.unknown == [] and matching.not_checkable == {}


def test_a_label_showing_the_secrets_ends_matches_when_only_one_key_fits():
    key = gateway_key("opaque-1", "sk-or-v1-0e6...c96")
    other = gateway_key("opaque-2", "sk-or-v1-zzz...zzz")
    matching = rules.match_keys([tally_key(1, SECRET_A)], [key, other])
    assert matching.matched == {1: key}
    assert matching.unknown == [other]


def test_a_label_that_fits_two_tally_keys_is_ambiguous_and_neither_is_checked():
    key = gateway_key("opaque-1", "sk-or-v1-0e6...c96")
    matching = rules.match_keys([tally_key(1, SECRET_A), tally_key(2, SECRET_B)], [key])
    assert matching.matched == {}
    assert set(matching.not_checkable) == {1, 2}
    assert "ambiguous" in matching.not_checkable[1]
    assert matching.unknown == [key]


def test_a_key_that_fits_two_labels_is_ambiguous():
    first, second = gateway_key("h1", "sk-or-v1-0e6...c96"), gateway_key("h2", "sk-or-v1-...c96")
    matching = rules.match_keys([tally_key(1, SECRET_A)], [first, second])
    assert matching.matched == {} and "several gateway keys" in matching.not_checkable[1]


def test_a_label_that_shows_too_little_identifies_nothing():
    assert rules.label_parts("sk...6") is None
    assert rules.label_parts("Production API Key") is None
    matching = rules.match_keys([tally_key(1, SECRET_A)], [gateway_key("h", "sk-o...96")])
    assert matching.matched == {} and "no key" in matching.not_checkable[1]


def test_matching_activity_has_no_finding():
    comparison = rules.compare_key_day(ours=[ours()], theirs=[row()], tolerance=Tolerance())
    assert comparison.matched and comparison.findings == []


def test_calls_tally_never_received_are_unrecorded_spend_with_the_delta():
    comparison = rules.compare_key_day(
        ours=[ours(cost="0.01", requests=2)], theirs=[row(usage="0.004", requests=1), row(usage="0.016", requests=2)],
        tolerance=Tolerance(),
    )
    [finding] = comparison.findings
    assert (finding.kind, finding.severity, finding.model) == ("unrecorded_spend", "error", "openai/gpt-4o-mini")
    assert (finding.expected, finding.actual, finding.delta) == (Decimal("0.01"), Decimal("0.020"), Decimal("0.010"))
    assert "3 request(s)" in finding.detail


def test_records_the_gateway_never_billed_are_unbilled_records():
    [finding] = rules.compare_key_day(ours=[ours(cost="0.03", requests=3)], theirs=[row()], tolerance=Tolerance()).findings
    assert (finding.kind, finding.severity, finding.delta) == ("unbilled_records", "warning", Decimal("-0.02"))


def test_byok_inference_is_part_of_what_the_gateway_billed():
    theirs = [row(usage="0.0005", byok="0.01")]
    assert rules.compare_key_day(ours=[ours(cost="0.0105")], theirs=theirs, tolerance=Tolerance()).matched
    [finding] = rules.compare_key_day(ours=[ours(cost="0.0005")], theirs=theirs, tolerance=Tolerance()).findings
    assert finding.kind == "unrecorded_spend"


def test_a_difference_within_tolerance_matches_but_a_missing_request_does_not():
    assert rules.compare_key_day(ours=[ours(cost="0.0100001")], theirs=[row()], tolerance=Tolerance()).matched
    [finding] = rules.compare_key_day(ours=[ours(requests=1)], theirs=[row(requests=2)], tolerance=Tolerance()).findings
    assert finding.kind == "unrecorded_spend" and finding.delta == 0


def test_dated_snapshots_are_the_same_model_and_other_models_are_compared_apart():
    comparison = rules.compare_key_day(
        ours=[ours("openai/gpt-4o-mini-2024-07-18"), ours("anthropic/claude-3.5-haiku", cost="0.5", requests=1)],
        theirs=[row("openai/gpt-4o-mini")],
        tolerance=Tolerance(),
    )
    [finding] = comparison.findings
    assert (finding.model, finding.kind) == ("anthropic/claude-3.5-haiku", "unbilled_records")
    assert comparison.ours.cost == Decimal("0.51") and comparison.theirs.cost == Decimal("0.01")


def test_huge_amounts_stay_exact():
    comparison = rules.compare_key_day(
        ours=[ours(cost="999999999999.000000000001")], theirs=[row(usage="999999999999.000000000002")],
        tolerance=Tolerance(absolute=Decimal(0), relative=Decimal(0)),
    )
    assert comparison.findings[0].delta == Decimal("0.000000000001")


def test_what_cannot_be_checked_says_why():
    today = date(2026, 12, 1)
    assert rules.not_checkable_reason(gateway_kind="kushrouter", has_management_key=True, day=DAY, today=today)
    assert "management key" in rules.not_checkable_reason(gateway_kind="openrouter", has_management_key=False, day=DAY, today=today)
    assert "window" in rules.not_checkable_reason(gateway_kind="openrouter", has_management_key=True, day=date(2026, 10, 31), today=today)
    assert rules.not_checkable_reason(gateway_kind="openrouter", has_management_key=True, day=date(2026, 11, 1), today=today) == ""
    assert rules.checkable_days(today=today) == (date(2026, 11, 1), date(2026, 11, 30))
