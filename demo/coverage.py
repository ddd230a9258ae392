"""The demo's coverage: a management key on the demo OpenRouter gateway, and calls made with one
key yesterday (UTC) that the gateway billed but nobody posted to Tally, so that the coverage
check `make run` does after reconciliation finds unrecorded spend.

The management key is written to `<var>/demo/management_keys.txt`, which run_tally hands to the
simulator (`simulate_gateways --management-keys-file`); the unposted calls are appended to the
simulator's records only, never to Tally's generations.
"""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from accounts.models import ApiKey, Gateway
from billing.coverage.services import CoverageNotCheckable, coverage_check_day, coverage_gateways, days_to_check
from demo.simulator.records import sample_body
from generations.gateways.base import GatewayError

MANAGEMENT_KEYS_FILE = "management_keys.txt"
UNPOSTED_CALLS = (("openai/gpt-4o", "OpenAI", 4200, 900, Decimal("0.0195")), ("openai/gpt-4o", "OpenAI", 12000, 2500, Decimal("0.0550")))


def demo_coverage_seed(
    *, gateway: Gateway, api_key: ApiKey, secret: str, now: datetime, rng: random.Random, demo_dir: Path
) -> list[dict[str, Any]]:
    """Give `gateway` a management key and return simulator records of calls `api_key` made
    yesterday that Tally never receives."""
    management_key = f"sk-or-v1-demo-management-{rng.getrandbits(128):032x}"
    gateway.set_management_secret(management_key)
    gateway.save(update_fields=["management_secret_encrypted"])
    (demo_dir / MANAGEMENT_KEYS_FILE).write_text(management_key + "\n")
    yesterday = now.astimezone(UTC).date() - timedelta(days=1)
    specs = []
    for index, (model, provider, prompt, completion, cost) in enumerate(UNPOSTED_CALLS):
        created_at = datetime.combine(yesterday, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9 + 5 * index)
        generation_id = f"gen-unposted-{yesterday:%Y%m%d}-{index}"
        body = sample_body(
            "openrouter", generation_id=generation_id, model=model, provider=provider, created_at=created_at,
            tokens_prompt=prompt, tokens_completion=completion, cost=cost, upstream_inference_cost=cost,
        )  # fmt: skip
        specs.append(
            {
                "protocol": "openrouter",
                "id": generation_id,
                "key": secret,
                "created_at": created_at.isoformat(),
                "body": body,
                "planted": "unrecorded_spend",
            }
        )
    return specs


def demo_coverage_check() -> list[str]:
    """Check every checkable day of every checkable gateway now, as the daily job would over
    days; one summary line each."""
    lines = []
    for gateway in coverage_gateways():
        for day in days_to_check(gateway=gateway):
            try:
                lines.append(coverage_check_day(gateway=gateway, day=day).summary())
            except (CoverageNotCheckable, GatewayError) as error:
                lines.append(f"{gateway.slug} {day}: not checked: {error}")
    return lines
