"""Kinds of discrepancy have a human name, a unit and a one-line explanation from their rule."""

from decimal import Decimal

from billing.discrepancy_kinds import EXPLANATIONS, MONEY_KINDS, TOKENS, USD, YES_NO, figure_text, kind_info
from billing.models import DiscrepancyKind
from billing.reconciliation import rules


def test_every_kind_has_a_name_and_the_first_sentence_of_its_rule():
    for kind in DiscrepancyKind.values:
        info = kind_info(kind)
        assert info.name and "_" not in info.name, kind
        if kind in EXPLANATIONS:  # found inside another rule, explained beside the names
            assert info.explanation == EXPLANATIONS[kind]
            continue
        first_words = " ".join(getattr(rules, kind).__doc__.split())[:12]
        assert info.explanation.startswith(first_words), kind
        assert info.explanation.endswith(".") and "(" not in info.explanation and "`" not in info.explanation


def test_units_follow_what_the_rule_compares():
    assert kind_info("cost_mismatch").unit == USD
    assert kind_info("token_mismatch").unit == TOKENS
    assert kind_info("byok_mismatch").unit == YES_NO
    assert "token_mismatch" not in MONEY_KINDS and "byok_mismatch" not in MONEY_KINDS


def test_a_kind_added_later_is_still_shown():
    info = kind_info("something_new")
    assert (info.name, info.unit, info.explanation) == ("Something new", "", "")


def test_figures_carry_their_unit():
    assert figure_text(Decimal("0.0214"), USD) == "$0.0214"
    assert figure_text(Decimal("0.0117"), USD, signed=True) == "+$0.0117"
    assert figure_text(Decimal("1200"), TOKENS, signed=True) == "+1,200 tokens"
    assert figure_text(Decimal("-48.000000000000"), TOKENS, signed=True) == "-48 tokens"
    assert (figure_text(Decimal(1), YES_NO), figure_text(Decimal(0), YES_NO)) == ("yes", "no")
    assert figure_text(Decimal(-1), YES_NO, signed=True) == "differs"
    assert figure_text(None, USD) == "—"
