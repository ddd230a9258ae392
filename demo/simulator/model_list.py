"""The simulator's OpenRouter model list: `GET /openrouter/api/v1/models`, with per-token prices
as OpenRouter writes them (decimal strings, USD per token). The entries are real OpenRouter
prices (August 2026) of a few models, most of which the demo uses; `POST /_sim/models` with a JSON list of model
objects replaces the list (tests change prices with it), `{"data": [...]}` is accepted too."""

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lib.exact_json import dumps_exact, loads_exact

JSON = "application/json"

DEFAULT_MODELS: list[dict[str, Any]] = [
    {"id": "openai/gpt-4o-mini", "name": "OpenAI: GPT-4o-mini",
     "pricing": {"prompt": "0.00000015", "completion": "0.0000006", "input_cache_read": "0.000000075"}},
    {"id": "openai/gpt-4o", "name": "OpenAI: GPT-4o",
     "pricing": {"prompt": "0.0000025", "completion": "0.00001", "input_cache_read": "0.00000125"}},
    {"id": "anthropic/claude-sonnet-4", "name": "Anthropic: Claude Sonnet 4",
     "pricing": {"prompt": "0.000003", "completion": "0.000015", "web_search": "0.01", "input_cache_read": "0.0000003",
                 "input_cache_write": "0.00000375", "input_cache_write_1h": "0.000006",
                 "overrides": [{"min_prompt_tokens": 200000, "prompt": "0.000006", "completion": "0.0000225",
                                "input_cache_read": "0.0000006", "input_cache_write": "0.0000075",
                                "input_cache_write_1h": "0.000012"}]}},
    {"id": "meta-llama/llama-3.1-70b-instruct", "name": "Meta: Llama 3.1 70B Instruct",
     "pricing": {"prompt": "0.0000004", "completion": "0.0000004"}},
    {"id": "deepseek/deepseek-r1", "name": "DeepSeek: R1", "pricing": {"prompt": "0.0000007", "completion": "0.0000025"}},
    {"id": "openrouter/auto", "name": "Auto Router", "pricing": {"prompt": "-1", "completion": "-1"}},
]


def model_list_routes() -> list[Route]:
    """The list endpoint and its control endpoint, over a list of their own."""
    listing = {"data": copy.deepcopy(DEFAULT_MODELS)}

    async def models(request: Request) -> Response:
        return Response(dumps_exact(listing), media_type=JSON)

    async def replace_models(request: Request) -> Response:
        try:
            value = loads_exact(await request.body())
        except (ValueError, RecursionError, UnicodeDecodeError) as error:
            return Response(dumps_exact({"error": f"not JSON: {error}"}), status_code=400, media_type=JSON)
        entries = value.get("data") if isinstance(value, dict) else value
        if not isinstance(entries, list):
            return Response(dumps_exact({"error": "a JSON list of models"}), status_code=400, media_type=JSON)
        listing["data"] = entries
        return Response(dumps_exact({"models": len(entries)}), media_type=JSON)

    return [
        Route("/openrouter/api/v1/models", models, methods=["GET"]),
        Route("/_sim/models", replace_models, methods=["POST"]),
    ]
