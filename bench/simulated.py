"""The gateway side of benchmark generations, as record specs for the simulator.

Each body says exactly what we recorded (cost at list price, same tokens, same model, not BYOK),
so a correct reconciliation verifies every one of them.
"""

from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

from accounts.secrets import fingerprint
from demo.simulator.records import sample_body
from lib.exact_json import dumps_exact
from generations.models import Generation


def record_spec(generation: Generation, *, kind: str, secret: str) -> dict:
    """The simulator's record of a benchmark generation: the gateway charged what we recorded."""
    body = sample_body(
        kind,
        generation_id=generation.external_id,
        model=generation.model,
        provider="Bench",
        created_at=generation.created_at,
        tokens_prompt=generation.tokens_prompt,
        tokens_completion=generation.tokens_completion,
        cost=generation.cost,
        streamed=generation.streamed,
        key_hash=fingerprint(secret),
    )
    created_at = generation.created_at.isoformat()
    return {"protocol": kind, "id": generation.external_id, "key": secret, "created_at": created_at, "body": body}


def peer_specs(count: int) -> list[dict]:
    """OpenRouter records that any valid key may read, for the peer clients of bench/peers.py."""
    created_at = datetime(2026, 1, 15, tzinfo=dt_timezone.utc)
    return [
        {
            "protocol": "openrouter",
            "id": f"gen-bench-peer-{number:06d}",
            "created_at": created_at.isoformat(),
            "body": sample_body(
                "openrouter",
                generation_id=f"gen-bench-peer-{number:06d}",
                model="openai/gpt-4o-mini",
                provider="Bench",
                created_at=created_at,
                tokens_prompt=1_200,
                tokens_completion=300,
                cost=Decimal("0.00036"),
            ),
        }
        for number in range(count)
    ]


def specs_jsonl(specs: list[dict]) -> str:
    return "\n".join(dumps_exact(spec) for spec in specs) + "\n"


def list_cost(*, prompt: int, completion: int, prices: dict[str, Decimal]) -> Decimal:
    return ((prompt * prices["prompt"] + completion * prices["completion"]) / 1_000_000).quantize(Decimal("1e-12"))
