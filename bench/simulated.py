"""The gateway side of benchmark generations, as record specs for the simulator.

Each body says exactly what we recorded (cost at list price, same tokens, same model, not BYOK),
so a correct reconciliation verifies every one of them.
"""

import hashlib
from decimal import Decimal

from generations.gateways.exact_json import dumps_exact
from generations.models import Generation


def record_spec(generation: Generation, *, kind: str, secret: str) -> dict:
    created_at = generation.created_at.isoformat()
    if kind == "openrouter":
        body = {
            "id": generation.external_id,
            "created_at": created_at,
            "model": generation.model,
            "origin": "",
            "provider_name": "Bench",
            "total_cost": generation.cost,
            "usage": generation.cost,
            "upstream_inference_cost": None,
            "cache_discount": None,
            "native_tokens_prompt": generation.tokens_prompt,
            "native_tokens_completion": generation.tokens_completion,
            "native_tokens_cached": 0,
            "native_tokens_reasoning": 0,
            "is_byok": False,
            "cancelled": False,
            "streamed": generation.streamed,
            "finish_reason": "stop",
            "latency": 900,
        }
    elif kind == "fastrouter":
        body = {
            "id": generation.external_id,
            "created_at": created_at,
            "model": generation.model,
            "provider_name": "Bench",
            "credits_used": generation.cost,
            "input_token_size": generation.tokens_prompt,
            "output_token_size": generation.tokens_completion,
            "is_byok": False,
            "api_key": hashlib.sha256(secret.encode()).hexdigest(),
        }
    else:
        body = {
            "id": generation.external_id,
            "created_at": created_at,
            "model": generation.model,
            "stream": generation.streamed,
            "finish_reason": "stop",
            "usage": {
                "prompt_tokens": generation.tokens_prompt,
                "completion_tokens": generation.tokens_completion,
                "total_tokens": generation.tokens_prompt + generation.tokens_completion,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
            },
        }
    return {"protocol": kind, "id": generation.external_id, "key": secret, "created_at": created_at, "body": body}


def specs_jsonl(specs: list[dict]) -> str:
    return "\n".join(dumps_exact(spec) for spec in specs) + "\n"


def list_cost(*, prompt: int, completion: int, prices: dict[str, Decimal]) -> Decimal:
    return ((prompt * prices["prompt"] + completion * prices["completion"]) / 1_000_000).quantize(Decimal("1e-12"))
