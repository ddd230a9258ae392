"""The demo's spend that arrives from where it is already recorded: a LiteLLM proxy's generic_api
batch, an OpenRouter Broadcast delivery and an OpenTelemetry export, per team.

Each team's OpenRouter "Production" key declares how LiteLLM and Broadcast name it; the payloads
go through the real translators and ingest (generations/sources), one failed LiteLLM call and one
non-LLM span among them to show what is skipped. Their gateway side is added to the simulator's
data like every other demo generation, so they reconcile.
"""

import uuid
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from demo.simulator.records import sample_body
from lib.exact_json import dumps_exact
from generations.sources import litellm, otlp
from generations.sources.keys import TeamKeys
from generations.sources.recording import source_records_ingest

LITELLM_MODEL_GROUP = "gpt-4o-mini"
# model, provider, prompt and completion USD per million tokens (the demo's list prices)
CALLS = (
    ("openai/gpt-4o-mini", "OpenAI", Decimal("0.15"), Decimal("0.60"), 1800, 240),
    ("openai/gpt-4o-mini", "OpenAI", Decimal("0.15"), Decimal("0.60"), 950, 410),
)


def demo_sources_seed(*, keys: list, now: datetime) -> tuple[list[dict[str, Any]], Counter]:
    """Record each team's source generations; returns the simulator specs and counts by source."""
    specs: list[dict[str, Any]] = []
    created: Counter = Counter()
    production = [demo_key for demo_key in keys if demo_key.api_key.slug.endswith("-openrouter")]
    for number, demo_key in enumerate(production):
        api_key = demo_key.api_key
        api_key.litellm_models = [LITELLM_MODEL_GROUP]
        api_key.broadcast_key_name = f"{api_key.team.slug}-production"
        api_key.save(update_fields=["litellm_models", "broadcast_key_name"])
        team_keys = TeamKeys.load(team=api_key.team)
        calls = [
            _call(demo_key, now - timedelta(minutes=40 + 7 * index), f"{source}{number}{index}", *call)
            for index, call in enumerate(CALLS)
            for source in ("lt", "bc")
        ]
        litellm_calls, broadcast_calls = calls[0::2], calls[1::2]
        body = dumps_exact(
            [_litellm_payload(call) for call in litellm_calls] + [_failed_litellm_payload(litellm_calls[0])]
        )
        translated = [
            litellm.record_from_payload(payload, team_keys) for payload in litellm.payloads_from_body(body.encode())
        ]
        created["LiteLLM"] += source_records_ingest(translated=translated, team=api_key.team).created
        delivery = dumps_exact(_broadcast_delivery(broadcast_calls, key_name=api_key.broadcast_key_name))
        translated = otlp.records_from_spans(otlp.spans_from_json(delivery.encode()), team_keys)
        created["OpenRouter Broadcast"] += source_records_ingest(translated=translated, team=api_key.team).created
        otel_call = _call(demo_key, now - timedelta(minutes=25), f"ot{number}", *CALLS[0])
        export = dumps_exact(_otel_export(otel_call, key_slug=api_key.slug))
        translated = otlp.records_from_spans(otlp.spans_from_json(export.encode()), team_keys)
        created["OpenTelemetry"] += source_records_ingest(translated=translated, team=api_key.team).created
        specs.extend(call["spec"] for call in [*calls, otel_call])
    return specs, created


def _call(
    demo_key,
    created_at: datetime,
    tag: str,
    model: str,
    provider: str,
    prompt_price,
    completion_price,
    prompt: int,
    completion: int,
) -> dict:
    generation_id = f"gen-{int(created_at.timestamp())}-src{tag}"
    cost = (
        ((prompt * prompt_price + completion * completion_price) / Decimal(1_000_000))
        .quantize(Decimal("1e-12"))
        .normalize()
    )
    body = sample_body(
        "openrouter",
        generation_id=generation_id,
        model=model,
        provider=provider,
        created_at=created_at,
        tokens_prompt=prompt,
        tokens_completion=completion,
        cost=cost,
    )
    spec = {
        "protocol": "openrouter",
        "id": generation_id,
        "key": demo_key.secret,
        "created_at": created_at.isoformat(),
        "body": body,
    }
    return {
        "id": generation_id,
        "model": model,
        "created_at": created_at,
        "prompt": prompt,
        "completion": completion,
        "cost": cost,
        "api_base": f"{demo_key.gateway.base_url}/api/v1",
        "spec": spec,
    }


def _litellm_payload(call: dict) -> dict:
    """The fields of a StandardLoggingPayload the translator reads (the rest are LiteLLM's own)."""
    started = call["created_at"].timestamp()
    return {
        "id": call["id"],
        "litellm_call_id": str(uuid.uuid4()),
        "call_type": "acompletion",
        "status": "success",
        "custom_llm_provider": "openrouter",
        "api_base": f"{call['api_base']}/chat/completions",
        "model": call["model"],
        "model_group": LITELLM_MODEL_GROUP,
        "model_id": None,
        "response_cost": call["cost"],
        "prompt_tokens": call["prompt"],
        "completion_tokens": call["completion"],
        "startTime": Decimal(str(started)),
        "endTime": Decimal(str(started + 1.5)),
        "cache_hit": None,
        "stream": False,
        "hidden_params": {"litellm_model_name": f"openrouter/{call['model']}", "api_base": call["api_base"]},
        "metadata": {
            "usage_object": {
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            }
        },
    }


def _failed_litellm_payload(call: dict) -> dict:
    return {**_litellm_payload(call), "id": str(uuid.uuid4()), "status": "failure", "response_cost": 0}


def _attribute(key: str, value: Any) -> dict:
    if isinstance(value, str):
        return {"key": key, "value": {"stringValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"doubleValue": value}}


def _span(call: dict, name: str, attributes: dict) -> dict:
    start = int(call["created_at"].timestamp()) * 1_000_000_000
    return {
        "traceId": uuid.uuid4().hex,
        "spanId": uuid.uuid4().hex[:16],
        "name": name,
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 1_500_000_000),
        "attributes": [_attribute(key, value) for key, value in attributes.items()],
    }


def _genai(call: dict) -> dict:
    return {
        "gen_ai.request.model": call["model"],
        "gen_ai.response.model": call["model"],
        "gen_ai.response.id": call["id"],
        "gen_ai.usage.input_tokens": call["prompt"],
        "gen_ai.usage.output_tokens": call["completion"],
    }


def _broadcast_delivery(calls: list[dict], *, key_name: str) -> dict:
    spans = [
        _span(
            call,
            "LLM Generation",
            {
                **_genai(call),
                "gen_ai.usage.total_cost": call["cost"],
                "trace.metadata.openrouter.api_key_name": key_name,
            },
        )
        for call in calls
    ]
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attribute("service.name", "openrouter")]},
                "scopeSpans": [{"scope": {"name": "openrouter"}, "spans": spans}],
            }
        ]
    }


def _otel_export(call: dict, *, key_slug: str) -> dict:
    spans = [
        _span(call, "POST /reports", {"http.request.method": "POST"}),
        _span(
            call,
            f"chat {call['model']}",
            {**_genai(call), "gen_ai.provider.name": "openrouter", "gen_ai.usage.cost": call["cost"]},
        ),
    ]
    resource = {"attributes": [_attribute("service.name", "reports"), _attribute("tally.api_key", key_slug)]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "reports"}, "spans": spans}]}]}
