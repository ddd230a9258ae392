"""How each kind of discrepancy is named, explained and measured, for people.

A discrepancy's expected, actual and delta are numbers whose unit depends on its kind: US dollars
for cost findings, tokens for token counts, yes/no (1/0) for flags, and nothing at all for
findings such as a missing record. Pages write each figure with its unit and add up only money.

The explanation of a kind is the first sentence of its rule's docstring in
billing/reconciliation/rules.py, so what a page says and what the rule does cannot drift apart.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from billing.money import EMPTY, money_text, plain_decimal
from billing.reconciliation import rules

USD = "USD"
TOKENS = "tokens"
YES_NO = "yes/no"
NO_UNIT = ""

# Kinds not listed here (a kind added later) are shown by name, with no unit and no explanation.
UNITS: dict[str, str] = {
    "cost_mismatch": USD,
    "token_mismatch": TOKENS,
    "upstream_inconsistent": USD,
    "byok_mismatch": YES_NO,
    "byok_fee_unexpected": USD,
    "price_mismatch": USD,
    "model_substituted": USD,
    "key_mismatch": NO_UNIT,
    "missing_upstream": NO_UNIT,
    "expired_unverified": NO_UNIT,
    "cancelled_billed": USD,
    "unreadable_record": NO_UNIT,
    "cache_hit": USD,
    "price_unchecked": NO_UNIT,
    # Key-day findings (coverage): money recorded on one side and not on the other.
    "unrecorded_spend": USD,
    "unbilled_records": USD,
}
NAMES: dict[str, str] = {
    "cost_mismatch": "Cost differs",
    "token_mismatch": "Token counts differ",
    "upstream_inconsistent": "Gateway contradicts itself",
    "byok_mismatch": "BYOK differs",
    "byok_fee_unexpected": "Unexpected BYOK fee",
    "price_mismatch": "Not list price",
    "model_substituted": "Other model served",
    "key_mismatch": "Other key charged",
    "missing_upstream": "Missing at the gateway",
    "expired_unverified": "Expired before verified",
    "cancelled_billed": "Cancelled but charged",
    "unreadable_record": "Unreadable gateway answer",
    "cache_hit": "Served from cache",
    "price_unchecked": "Price not checkable",
    "unrecorded_spend": "Spend we did not record",
    "unbilled_records": "Recorded but not billed",
}
# Kinds found inside another rule (no function of their own): their explanation is written here.
EXPLANATIONS: dict[str, str] = {
    "price_unchecked": "The charge includes what per-token list prices cannot explain "
    "(tools, search, a service tier), so the price was not checked.",
    # Key-day findings of the coverage check (billing/coverage/rules.py, compare_key_day).
    "unrecorded_spend": "The gateway billed this key more on this day and model than Tally holds records for.",
    "unbilled_records": "Tally holds records for this key, day and model that the gateway did not bill.",
}
MONEY_KINDS = tuple(kind for kind, unit in UNITS.items() if unit == USD)
FIRST_SENTENCE = re.compile(r"^(.+?\.)(\s|$)")
ASIDE = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True)
class KindInfo:
    kind: str
    name: str
    unit: str
    explanation: str

    @property
    def is_money(self) -> bool:
        return self.unit == USD


def kind_info(kind: str) -> KindInfo:
    """The human name, unit and one-line explanation of a kind of discrepancy."""
    return KindInfo(
        kind=kind,
        name=NAMES.get(kind) or kind.replace("_", " ").capitalize(),
        unit=UNITS.get(kind, NO_UNIT),
        explanation=_explanation(kind),
    )


def _explanation(kind: str) -> str:
    if kind in EXPLANATIONS:
        return EXPLANATIONS[kind]
    rule = getattr(rules, kind, None)
    doc = ASIDE.sub("", " ".join((getattr(rule, "__doc__", None) or "").split())).replace("`", "")
    match = FIRST_SENTENCE.match(doc)
    return match.group(1) if match else doc


def figure_text(value: Decimal | None, unit: str, *, signed: bool = False) -> str:
    """One of expected, actual or delta, written with its unit: "$0.0214", "+1,200 tokens",
    "yes", "—" (unknown, or a kind that has no figure)."""
    if value is None:
        return EMPTY
    if unit == USD:
        text = money_text(value)
        return f"+{text}" if signed and value > 0 else text
    if unit == YES_NO:
        if signed:
            return "differs" if value else "same"
        return "yes" if value else "no"
    text = plain_decimal(value, grouped=True, signed=signed)
    return f"{text} {unit}" if unit else text
