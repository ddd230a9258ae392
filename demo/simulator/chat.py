"""The simulator's OpenRouter-compatible chat endpoint: `POST /openrouter/api/v1/chat/completions`.

It answers like OpenRouter (https://openrouter.ai/docs/api-reference/overview and its usage
accounting page): a `gen-...` id, the model, one assistant choice, and `usage` with token counts,
`cost` (USD) and `is_byok`. It also records the generation as OpenRouter would, readable with the
same key at `GET /openrouter/api/v1/generation?id=...`, so a client calling through the
simulator (LiteLLM, an OpenTelemetry-instrumented app) leaves spend that Tally can reconcile, all
on loopback. Prices per million tokens are GENERATED_MODELS' (other models: the first's); the
cost is rounded to 12 places, as OpenRouter's answers carry no more.
"""

import secrets
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from demo.simulator.answers import JSON, error_response
from demo.simulator.records import GENERATED_MODELS, SimulatedRecord, sample_body
from demo.simulator.state import SimulatorState
from lib.exact_json import dumps_exact, loads_exact

COST_QUANTUM = Decimal("1e-12")
COMPLETION_TEXT = "Hello from the gateway simulator."


def chat_routes(state: SimulatorState) -> list[Route]:
    async def chat_completions(request: Request) -> Response:
        state.stats.requests["openrouter-chat"] += 1
        authorization = request.headers.get("authorization", "")
        key = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        if not key:
            return error_response("openrouter", 401)
        if (state.keys.get("openrouter") or state.config.keys) and not state.key_is_valid("openrouter", key):
            return error_response("openrouter", 401, "Invalid API key")
        try:
            body = loads_exact(await request.body())
        except (ValueError, RecursionError, UnicodeDecodeError):
            body = None
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("model"), str)
            or not isinstance(body.get("messages"), list)
        ):
            return error_response("openrouter", 400, "model and messages are required")
        if body.get("stream"):
            return error_response("openrouter", 400, "the simulator answers without streaming only")
        return Response(
            dumps_exact(_complete(state, key=key, model=body["model"], messages=body["messages"])), media_type=JSON
        )

    return [Route("/openrouter/api/v1/chat/completions", chat_completions, methods=["POST"])]


def _complete(state: SimulatorState, *, key: str, model: str, messages: list) -> dict:
    prices = {name: (provider, prompt, completion) for name, provider, prompt, completion in GENERATED_MODELS}
    provider, prompt_price, completion_price = prices.get(model, prices[GENERATED_MODELS[0][0]])
    text = " ".join(str(message.get("content", "")) for message in messages if isinstance(message, dict))
    tokens_prompt = max(1, len(text.split())) + 3 * len(messages)
    tokens_completion = len(COMPLETION_TEXT.split())
    cost = (
        ((tokens_prompt * prompt_price + tokens_completion * completion_price) / Decimal(1_000_000))
        .quantize(COST_QUANTUM, rounding=ROUND_HALF_EVEN)
        .normalize()
    )
    created_at = datetime.now(UTC)
    generation_id = f"gen-{int(time.time())}-{secrets.token_hex(10)}"
    state.add_records(
        [
            SimulatedRecord(
                protocol="openrouter",
                id=generation_id,
                created_at=created_at,
                key=key,
                body=sample_body(
                    "openrouter",
                    generation_id=generation_id,
                    model=model,
                    provider=provider,
                    created_at=created_at,
                    tokens_prompt=tokens_prompt,
                    tokens_completion=tokens_completion,
                    cost=cost,
                    streamed=False,
                ),
            )
        ]
    )
    return {
        "id": generation_id,
        "provider": provider,
        "model": model,
        "object": "chat.completion",
        "created": int(created_at.timestamp()),
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "message": {"role": "assistant", "content": COMPLETION_TEXT, "refusal": None, "reasoning": None},
            }
        ],
        "usage": {
            "prompt_tokens": tokens_prompt,
            "completion_tokens": tokens_completion,
            "total_tokens": tokens_prompt + tokens_completion,
            "cost": cost,
            "is_byok": False,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "cost_details": {"upstream_inference_cost": None},
            "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": 0},
        },
    }
