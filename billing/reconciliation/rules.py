"""What counts as a discrepancy: the one file to read to know.

Every rule is a pure function: our record of a generation, the gateway's record of it, the list
prices in force and the gateway's tolerances in; a Finding or None out. No database, no HTTP.
`findings_for` runs them all; `verdict` turns the findings into the generation's state; `decide`
turns one lookup's outcome into a decision, with this precedence:

1. a record (whatever its age) is reconciled: verified, or disputed by an error finding;
2. a 402 pauses the gateway, a 401 the key (or the gateway, when it uses its own lookup
   credential): the generation is released, not blamed;
3. past the gateway's retention, the generation is expired_unverified;
4. a 404 after the grace window and at least three lookups is missing_upstream (re-checked slowly);
   before that, it is looked up again;
5. an answer that cannot be read is unreadable_record after a bounded number of attempts (at
   once for a 400: the gateway refuses the lookup itself), re-checked slowly; before that, retried;
6. anything else (429, 5xx, timeouts) is retried, with the gateway's wait honoured.

Deciding has no side effects: pausing a gateway or key and pinning a key's hash are intents in
the decision, carried out by the writer (services/writes.py).

Amounts agree when they differ by at most max(absolute, relative x the larger amount): by default
max(0.000001 USD, 0.1%), set per gateway (accounts.models.Gateway.tolerance_*).
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from billing.money import exact_amount_text as usd  # a finding's amounts: every digit, then USD
from billing.reconciliation.charges import list_cost, money
from billing.reconciliation.facts import (
    ERROR,
    INFO,
    WARNING,
    Case,
    Decision,
    Finding,
    GatewayFacts,
    Kind,
    OurGeneration,
    PauseGateway,
    PauseKey,
    PinKeyHash,
    Prices,
    Release,
    Retry,
    Settle,
    State,
    Tolerance,
)
from billing.reconciliation.reading import (  # how the rules read a record
    is_cache_hit,
    key_hash_matches,
    price_unchecked_reason,
    same_key_hash,
    same_model,
    should_pin_key_hash,
)
from generations import scheduling
from generations.gateways.base import (
    BadPayload,
    GatewayError,
    GatewayGenerationRecord,
    LookupOutcome,
    NotFound,
    PaymentRequired,
    RateLimited,
    RefusedLookup,
    Unauthorised,
)

# OpenRouter's BYOK fee is 5% of what the call would have cost on OpenRouter's own capacity.
BYOK_FEE_RATE = Decimal("0.05")
# "About 5%": the fee may be off by this share of itself (rounding at the gateway) and still agree.
BYOK_FEE_RELATIVE_TOLERANCE = Decimal("0.02")


def cost_mismatch(case: Case) -> Finding | None:
    """The cost we recorded is not what the gateway charged (see charges.py for how each gateway's
    charge is read: OpenRouter BYOK is fee plus upstream cost, never plus it otherwise). A charge
    that cannot be known (no cost field; KushRouter with no list price) is an error too: the
    generation cannot be verified until someone adds the price."""
    ours, charged = case.ours, case.charged
    if charged is None:
        if ours.gateway_kind == "kushrouter":
            reason = (
                f"No list price in force for {case.record.served_model or ours.model} (no import, gateway list "
                "or catalog entry): the charge cannot be computed."
            )
        else:
            reason = "The gateway's record has no cost: the charge cannot be known."
        return Finding(Kind.COST_MISMATCH, ERROR, expected=ours.cost, actual=None, detail=reason)
    if not case.tolerance.differ(ours.cost, charged):
        return None
    detail = f"Recorded {usd(ours.cost)}, the gateway charged {usd(charged)}"
    if ours.gateway_kind == "kushrouter" and case.prices.charged is not None:
        source = case.prices.charged.source or "the price list"
        detail += f" (its tokens at list price, from {source}, less {(case.discount * 100).normalize():f}%)"
    return Finding(Kind.COST_MISMATCH, ERROR, expected=ours.cost, actual=charged, detail=detail + ".")


def token_mismatch(case: Case) -> Finding | None:
    """Our token counts differ from the gateway's native counts. Reasoning tokens are billed as
    output: the gateway's completion count includes them (OpenRouter's native_tokens_completion),
    so a completion count we recorded without the reasoning tokens agrees once they are added."""
    ours, record = case.ours, case.record
    if is_cache_hit(record):
        return None  # the response came from the cache: the gateway counts no tokens for it
    differences: list[tuple[str, int, int]] = []
    for name, recorded, native in (
        ("prompt", ours.tokens_prompt, record.tokens_prompt),
        ("completion", ours.tokens_completion, record.tokens_completion),
        ("cached", ours.tokens_cached, record.tokens_cached),
        ("reasoning", ours.tokens_reasoning, record.tokens_reasoning),
    ):
        if native is None or native == recorded:
            continue
        if name == "completion" and native == recorded + ours.tokens_reasoning:
            continue
        differences.append((name, recorded, native))
    if not differences:
        return None
    _, recorded, native = differences[0]
    detail = "; ".join(f"{name}: recorded {recorded}, gateway {native}" for name, recorded, native in differences)
    return Finding(Kind.TOKEN_MISMATCH, ERROR, expected=Decimal(recorded), actual=Decimal(native), detail=detail)


def upstream_inconsistent(case: Case) -> Finding | None:
    """The gateway contradicts itself: OpenRouter's `usage` (what it took from credits) should
    equal its `total_cost`."""
    record = case.record
    if case.ours.gateway_kind != "openrouter" or record.usage is None or record.total_cost is None:
        return None
    if not case.tolerance.differ(record.total_cost, record.usage):
        return None
    detail = f"The gateway says total_cost {usd(record.total_cost)} but usage {usd(record.usage)}."
    return Finding(Kind.UPSTREAM_INCONSISTENT, ERROR, expected=record.total_cost, actual=record.usage, detail=detail)


def byok_mismatch(case: Case) -> Finding | None:
    """BYOK on our side but not at the gateway: the provider key failed or was rate limited and
    the gateway fell back to its shared capacity, charging the call in full. Or the reverse: the
    gateway billed a call to the team's own provider account that we did not expect there."""
    ours, record = case.ours, case.record
    if record.is_byok is None or record.is_byok == ours.is_byok:
        return None
    if ours.is_byok:
        detail = "The key is BYOK but the gateway served the call on shared capacity and charged it in full."
    else:
        detail = "The key is not BYOK but the gateway says the call used the team's own provider key."
    expected, actual = Decimal(int(ours.is_byok)), Decimal(int(record.is_byok))
    return Finding(Kind.BYOK_MISMATCH, ERROR, expected=expected, actual=actual, detail=detail)


def byok_fee_unexpected(case: Case) -> Finding | None:
    """On an OpenRouter BYOK call `total_cost` is the gateway's fee: zero (free allowance) or
    about 5% of the upstream cost. Any other fee, or a BYOK call with no upstream cost at all,
    is unexpected. An upstream cost of 0 with a zero fee (free providers, zero-filled usage) is a
    call that cost nothing."""
    record = case.record
    if case.ours.gateway_kind != "openrouter" or not record.is_byok:
        return None
    upstream, fee = record.upstream_inference_cost, record.total_cost or Decimal(0)
    if upstream == 0 and fee <= case.tolerance.absolute:
        return None
    if upstream is None:
        detail = "A BYOK call with no upstream inference cost: the provider's charge is unknown."
        return Finding(Kind.BYOK_FEE_UNEXPECTED, ERROR, expected=None, actual=fee, detail=detail)
    expected_fee = money(upstream * BYOK_FEE_RATE)
    fee_tolerance = Tolerance(
        absolute=case.tolerance.absolute, relative=max(case.tolerance.relative, BYOK_FEE_RELATIVE_TOLERANCE)
    )
    if fee <= case.tolerance.absolute or not fee_tolerance.differ(fee, expected_fee):
        return None
    if upstream:
        detail = f"BYOK fee {usd(fee)} is {fee / upstream:.2%} of the upstream cost {usd(upstream)}, not 0 or 5%."
    else:
        detail = f"BYOK fee {usd(fee)} on a call whose upstream cost is 0 USD."
    return Finding(Kind.BYOK_FEE_UNEXPECTED, ERROR, expected=expected_fee, actual=fee, detail=detail)


def price_mismatch(case: Case) -> Finding | None:
    """What the gateway billed is not list price x its own token counts, less its cache discount.
    OpenRouter's `cache_discount` is what caching saved against the full prompt price; it is
    negative when cache writes cost more than they saved, and then it adds to the price. Checked
    where a list price is in force, on OpenRouter (the provider's charge: `total_cost`, or
    `upstream_inference_cost` on BYOK calls) and FastRouter (`credits_used`). KushRouter's charge
    is computed from the list price, so there is nothing to compare. A charge that is not for
    tokens (web search, media, audio, other api_types, flex/priority tiers) cannot be priced from
    per-token list prices: then the record says so (price_unchecked, information) instead."""
    record, price = case.record, case.prices.charged
    if price is None or record.tokens_prompt is None or record.tokens_completion is None:
        return None
    if is_cache_hit(record):
        return None
    if record.is_byok and record.upstream_inference_cost == 0 and not record.total_cost:
        return None  # the team's own provider account charged nothing (a free provider): no list price applies
    unchecked = price_unchecked_reason(record)
    if unchecked:
        return Finding(Kind.PRICE_UNCHECKED, INFO, detail=f"The price could not be checked: {unchecked}.")
    kind = case.ours.gateway_kind
    if kind == "openrouter":
        billed = record.upstream_inference_cost if record.is_byok else record.total_cost
        cache_discount = record.cache_discount or Decimal(0)
    elif kind == "fastrouter":
        billed, cache_discount = record.credits_used, Decimal(0)
    else:
        return None
    if billed is None:
        return None
    at_list = list_cost(price=price, prompt=record.tokens_prompt, completion=record.tokens_completion)
    expected = money((at_list - cache_discount) * (1 - case.discount))
    if not case.tolerance.differ(expected, billed):
        return None
    source = f" (price from {price.source})" if price.source else ""
    detail = f"{price.model} at list price{source} is {usd(money(at_list))}"
    if cache_discount > 0:
        detail += f", less a cache discount of {usd(cache_discount)}"
    elif cache_discount < 0:
        detail += f", plus {usd(-cache_discount)} for cache writes (a negative cache discount)"
    detail += f": expected {usd(expected)}, billed {usd(billed)}."
    return Finding(Kind.PRICE_MISMATCH, ERROR, expected=expected, actual=billed, detail=detail)


def model_substituted(case: Case) -> Finding | None:
    """The gateway served another model than the one asked for. Dated snapshots of the model
    asked for (openai/gpt-x-20260709) are the same model. A warning, unless the served model's
    list price differs from the requested one's: then it is an error, it changes the bill."""
    requested, served = case.ours.model, case.record.served_model
    if not served or same_model(requested, served):
        return None
    prices = case.prices
    price_differs = (
        prices.requested is not None and prices.served is not None and not prices.requested.same_rates_as(prices.served)
    )
    expected = actual = None
    if price_differs:
        tokens = {"prompt": case.ours.tokens_prompt, "completion": case.ours.tokens_completion}
        expected = money(list_cost(price=prices.requested, **tokens))
        actual = money(list_cost(price=prices.served, **tokens))
    detail = f"Asked for {requested}, the gateway served {served}"
    detail += " at a different price." if price_differs else "."
    severity = ERROR if price_differs else WARNING
    return Finding(Kind.MODEL_SUBSTITUTED, severity, expected=expected, actual=actual, detail=detail)


def key_mismatch(case: Case) -> Finding | None:
    """The gateway attributes the generation to another key. FastRouter's `api_key` is "a hash of
    the key used", with no documented algorithm: the first hash a key's generations report is
    pinned to the key (or an operator sets it), and only a hash that disagrees with the pinned one
    is a mismatch. The SHA-256 of our key's secret (or a prefix of it) is always ours."""
    key_hash, ours = case.record.key_hash, case.ours
    if not key_hash or key_hash_matches(key_hash, ours.key_fingerprint):
        return None
    if not ours.pinned_key_hash or same_key_hash(key_hash, ours.pinned_key_hash):
        return None
    detail = f"The gateway attributes this generation to key hash {key_hash[:16]}…, not to this key's"
    return Finding(Kind.KEY_MISMATCH, ERROR, detail=f"{detail} ({ours.pinned_key_hash[:16]}…).")


def cache_hit(case: Case) -> Finding | None:
    """OpenRouter served the answer from its response cache (`response_cache_source_id` set,
    every billable counter 0): verified at zero cost, with a note naming the source generation."""
    record = case.record
    if not is_cache_hit(record):
        return None
    source = str(record.extra.get("response_cache_source_id"))[:200]
    detail = f"Served from the gateway's response cache of generation {source}, at {usd(case.charged)}."
    return Finding(Kind.CACHE_HIT, INFO, expected=None, actual=case.charged, detail=detail)


def cancelled_billed(case: Case) -> Finding | None:
    """Cancelled but charged. Information only: gateways bill the tokens a cancelled (e.g.
    aborted streaming) call used, as they document."""
    cancelled = case.record.cancelled or case.ours.cancelled
    charged = case.charged
    if not cancelled or not charged:
        return None
    detail = f"Cancelled, and charged {usd(charged)} for the tokens it used."
    return Finding(Kind.CANCELLED_BILLED, INFO, expected=Decimal(0), actual=charged, detail=detail)


RECORD_RULES: tuple[Callable[[Case], Finding | None], ...] = (
    cost_mismatch,
    token_mismatch,
    upstream_inconsistent,
    byok_mismatch,
    byok_fee_unexpected,
    price_mismatch,
    model_substituted,
    key_mismatch,
    cache_hit,
    cancelled_billed,
)


def findings_for(case: Case) -> list[Finding]:
    """Every finding on a generation the gateway has a record of."""
    return [finding for rule in RECORD_RULES if (finding := rule(case)) is not None]


def expired_unverified(*, created_at: datetime, now: datetime, retention_days: int | None) -> Finding | None:
    """The gateway's retention passed before we could verify the generation (KushRouter keeps
    records at least 7 days): it can no longer be checked."""
    if retention_days is None or now < created_at + timedelta(days=retention_days):
        return None
    detail = f"Not verified within the gateway's retention of {retention_days} days."
    return Finding(Kind.EXPIRED_UNVERIFIED, ERROR, detail=detail)


def missing_upstream(
    *, created_at: datetime, now: datetime, grace_seconds: int, lookups: int = scheduling.MISSING_MIN_LOOKUPS
) -> Finding | None:
    """Still not found after the gateway's grace window and at least MISSING_MIN_LOOKUPS lookups
    (spread over the window by generations/scheduling.py). Right after a call, gateways answer 404
    for a while (OpenRouter's record appears seconds later); after the window, 404 means the
    gateway has no record of a call we recorded. Never final by accident: it is re-checked
    slowly, and a record that appears later closes the finding."""
    if now < created_at + timedelta(seconds=grace_seconds) or lookups < scheduling.MISSING_MIN_LOOKUPS:
        return None
    detail = f"The gateway still had no record {grace_seconds} seconds after the call."
    return Finding(Kind.MISSING_UPSTREAM, ERROR, detail=detail)


def unreadable_record(*, error: GatewayError, attempts: int, max_attempts: int) -> Finding | None:
    """The gateway's answer could not be read, `attempts` lookups running (the raw body is kept).
    After `max_attempts` it is an error finding instead of a retry; a 400 (the gateway refuses the
    lookup: a malformed id) is one at once, since asking again cannot help."""
    refused = isinstance(error, RefusedLookup)
    if not refused and attempts < max_attempts:
        return None
    if refused:
        detail = f"The gateway refused the lookup: {str(error)[:300]}"
    else:
        detail = f"The gateway's answer could not be read after {attempts} attempts: {str(error)[:300]}"
    return Finding(Kind.UNREADABLE_RECORD, ERROR, detail=detail)


def verdict(findings: list[Finding]) -> str:
    """Verified unless some finding is an error."""
    return State.DISPUTED if any(finding.is_error for finding in findings) else State.VERIFIED


def decide(
    *,
    ours: OurGeneration,
    gateway: GatewayFacts,
    outcome: LookupOutcome,
    prices: Prices,
    now: datetime,
) -> Decision:
    """What one lookup's outcome means for a generation, in the precedence the module docstring
    states. Pure: what must be done besides writing the generation is returned as intents."""
    if isinstance(outcome, GatewayGenerationRecord):
        case = Case(ours=ours, record=outcome, prices=prices, tolerance=gateway.tolerance, discount=gateway.discount)
        findings = findings_for(case)
        intents = (PinKeyHash(outcome.key_hash),) if should_pin_key_hash(ours, outcome.key_hash) else ()
        state = verdict(findings)
        return Settle(state=state, findings=findings, record=outcome, charged_cost=case.charged, intents=intents)
    if isinstance(outcome, PaymentRequired):
        return Release(intents=(PauseGateway(f"Payment required (402): {outcome}"),))
    if isinstance(outcome, Unauthorised):
        if gateway.uses_lookup_credential:
            return Release(intents=(PauseGateway(f"Lookup credential refused: {outcome}"),))
        return Release(intents=(PauseKey(f"Key refused by the gateway: {outcome}"),))
    lookups = ours.attempts + 1
    expired = expired_unverified(created_at=ours.created_at, now=now, retention_days=gateway.retention_days)
    if expired:
        return Settle(state=State.EXPIRED, findings=[expired])
    recheck_at = scheduling.next_recheck_at(now=now, created_at=ours.created_at, retention_days=gateway.retention_days)
    if isinstance(outcome, NotFound):
        missing = missing_upstream(
            created_at=ours.created_at, now=now, grace_seconds=gateway.grace_seconds, lookups=lookups
        )
        if missing:
            return Settle(state=State.MISSING, findings=[missing], recheck_at=recheck_at)
        return Retry(
            when=scheduling.next_attempt_after_not_found(
                now=now, created_at=ours.created_at, grace_seconds=gateway.grace_seconds, lookups=lookups
            )
        )
    if isinstance(outcome, BadPayload):
        unreadable = unreadable_record(
            error=outcome, attempts=lookups, max_attempts=scheduling.max_unreadable_attempts()
        )
        if unreadable:
            return Settle(state=State.DISPUTED, findings=[unreadable], recheck_at=recheck_at, raw_body=outcome.body)
    retry_after = outcome.retry_after if isinstance(outcome, RateLimited) else None
    return Retry(when=scheduling.next_attempt_after_failure(now=now, attempts=lookups, retry_after=retry_after))
