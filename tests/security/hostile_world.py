"""Clean OpenRouter generations on both sides (ours stored, the gateway's in the simulator),
for tests that then make the gateway's side hostile or faulty."""

from django.utils import timezone

from tests.billing.reconciliation_world import Planned, World, plan_generations


def clean_openrouter_plans(world: World, *, count: int, seed: int = 1) -> list[Planned]:
    """`count` generations of the world's plain OpenRouter key, with no planted difference."""
    plans = plan_generations(world, count=count * 6, plant_share=0, seed=seed, now=timezone.now(), scripts=False)
    chosen = [plan for plan in plans if plan.key_name == "openrouter"][:count]
    assert len(chosen) == count, "raise the multiplier: too few OpenRouter plans"
    return chosen
