"""Simulated gateway records: reading record specs, wrapping bodies, fabricating defaults."""

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from demo.simulator.protocol import openrouter_completed
from lib.exact_json import dumps_exact, loads_exact

PROTOCOLS = ("openrouter", "fastrouter", "kushrouter")


@dataclass
class SimulatedRecord:
    protocol: str
    id: str
    created_at: datetime
    body: Any
    key: str = ""
    raw_body: str | bytes | None = None
    script: list[str] = field(default_factory=list)
    _text: str | None = field(default=None, repr=False)

    @property
    def text(self) -> str | bytes:
        """The 200 answer, serialised once: numbers exactly as given."""
        if self._text is None:
            self._text = self.raw_body if self.raw_body is not None else dumps_exact(envelope(self.protocol, self.body))
        return self._text


def envelope(protocol: str, body: Any) -> Any:
    if protocol == "openrouter":
        return {"data": body}
    if protocol == "kushrouter":
        return {"success": True, "generation": body}
    return body


def parse_specs(text: str) -> list[SimulatedRecord]:
    """Record specs from a JSON list or JSONL. Raises ValueError naming the bad item."""
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        items = loads_exact(stripped)
        labels = [f"item {index}" for index in range(len(items))]
    else:
        lines = [(number, line) for number, line in enumerate(stripped.splitlines(), start=1) if line.strip()]
        items, labels = [], []
        for number, line in lines:
            try:
                items.append(loads_exact(line))
            except ValueError as error:
                raise ValueError(f"line {number}: not JSON: {error}") from error
            labels.append(f"line {number}")
    return [
        record_from_spec(item, label)
        for item, label in zip(items, labels, strict=True)
        if not (isinstance(item, dict) and item.get("absent"))
    ]


def record_from_spec(spec: Any, label: str = "record") -> SimulatedRecord:
    if not isinstance(spec, dict):
        raise ValueError(f"{label}: a record spec is a JSON object")
    protocol = spec.get("protocol")
    if protocol not in PROTOCOLS:
        raise ValueError(f"{label}: protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    generation_id = spec.get("id")
    if not isinstance(generation_id, str) or not generation_id:
        raise ValueError(f"{label}: id must be a non-empty string")
    created_at = _created_at(spec.get("created_at"), label)
    script = spec.get("script") or []
    if not isinstance(script, list) or not all(isinstance(step, str) for step in script):
        raise ValueError(f"{label}: script must be a list of strings")
    raw_body = spec.get("raw_body")
    if raw_body is not None and not isinstance(raw_body, str):
        raise ValueError(f"{label}: raw_body must be a string")
    if spec.get("raw_body_base64") is not None:
        try:
            # Bytes that are not text at all (invalid UTF-8), which a JSON string cannot carry.
            raw_body = base64.b64decode(spec["raw_body_base64"], validate=True)
        except (TypeError, binascii.Error) as error:
            raise ValueError(f"{label}: raw_body_base64 must be base64") from error
    key = spec.get("key") or ""
    if not isinstance(key, str):
        raise ValueError(f"{label}: key must be a string")
    return SimulatedRecord(
        protocol=protocol,
        id=generation_id,
        created_at=created_at,
        body=spec.get("body", {}),
        key=key,
        raw_body=raw_body,
        script=list(script),
    )


def _created_at(value: Any, label: str) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    try:
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
        else:
            moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{label}: created_at must be an ISO 8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


GENERATED_MODELS = (
    ("openai/gpt-4o-mini", "OpenAI", Decimal("0.15"), Decimal("0.60")),
    ("anthropic/claude-3.5-haiku", "Anthropic", Decimal("0.80"), Decimal("4.00")),
    ("meta-llama/llama-3.1-70b-instruct", "DeepInfra", Decimal("0.23"), Decimal("0.40")),
    ("google/gemini-2.0-flash-001", "Google", Decimal("0.10"), Decimal("0.40")),
)


def generated_record(protocol: str, generation_id: str) -> SimulatedRecord:
    """A plausible record for an id nobody loaded, the same every time for the same id."""
    digest = hashlib.sha256(f"{protocol}:{generation_id}".encode()).digest()
    model, provider, prompt_price, completion_price = GENERATED_MODELS[digest[0] % len(GENERATED_MODELS)]
    prompt = 50 + int.from_bytes(digest[1:3], "big") % 4000
    completion = 10 + int.from_bytes(digest[3:5], "big") % 1500
    cost = (prompt * prompt_price + completion * completion_price) / Decimal(1_000_000)
    created_at = datetime.now(timezone.utc) - timedelta(hours=1)
    return SimulatedRecord(
        protocol=protocol,
        id=generation_id,
        created_at=created_at,
        body=sample_body(
            protocol,
            generation_id=generation_id,
            model=model,
            provider=provider,
            created_at=created_at,
            tokens_prompt=prompt,
            tokens_completion=completion,
            cost=cost,
        ),
    )


def sample_body(
    protocol: str,
    *,
    generation_id: str,
    model: str,
    provider: str,
    created_at: datetime,
    tokens_prompt: int,
    tokens_completion: int,
    cost: Decimal,
    tokens_cached: int = 0,
    tokens_cache_write: int = 0,
    tokens_reasoning: int = 0,
    is_byok: bool = False,
    upstream_inference_cost: Decimal | None = None,
    cache_discount: Decimal | None = None,
    usage: Decimal | None = None,
    cancelled: bool = False,
    streamed: bool = True,
    key_hash: str = "",
    fallback_from: str | None = None,
    response_cache_source_id: str | None = None,
) -> dict[str, Any]:
    """A gateway's own body for one generation, with the nulls and extra fields real ones carry."""
    if protocol == "openrouter":
        return openrouter_completed(
            {
                "id": generation_id,
                "upstream_id": f"chatcmpl-{generation_id[-12:]}",
                "total_cost": cost,
                "cache_discount": cache_discount,
                "upstream_inference_cost": upstream_inference_cost,
                "created_at": created_at.isoformat(),
                "model": model,
                "app_id": None,
                "streamed": streamed,
                "cancelled": cancelled,
                "provider_name": provider,
                "latency": 400 + tokens_completion,
                "moderation_latency": None,
                "generation_time": 300 + tokens_completion,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "tokens_prompt": tokens_prompt,
                "tokens_completion": tokens_completion,
                "native_tokens_prompt": tokens_prompt,
                "native_tokens_completion": tokens_completion,
                "native_tokens_completion_images": None,
                "native_tokens_reasoning": tokens_reasoning,
                "native_tokens_cached": tokens_cached,
                "num_media_prompt": None,
                "num_input_audio_prompt": None,
                "num_media_completion": None,
                "num_search_results": None,
                "origin": "",
                "usage": cost if usage is None else usage,
                "is_byok": is_byok,
                "external_user": None,
                "api_type": "completions",
                "router": None,
                "provider_responses": None,
                "user_agent": None,
                "http_referer": None,
                "request_id": f"req-{generation_id[-16:]}",
                "session_id": None,
                "data_region": "us",
                "service_tier": None,
            },
            model=model,
            provider=provider,
            is_byok=is_byok,
            cost=cost,
            upstream_inference_cost=upstream_inference_cost,
            fallback_from=fallback_from,
            response_cache_source_id=response_cache_source_id,
        )
    if protocol == "fastrouter":
        return {
            "id": generation_id,
            "model": model,
            "provider_name": provider.lower(),
            "api_key": key_hash or None,
            "credits_used": cost,
            "query_time": created_at.isoformat().replace("+00:00", "Z"),
            "avg_response_time_minutes_per_transaction": Decimal(400 + tokens_completion) / Decimal(60_000),
            "avg_tokens_per_nano": None,
            "input_token_size": tokens_prompt,
            "output_token_size": tokens_completion,
            "is_byok": is_byok,
            "endpoint": "/v1/chat/completions",
            "created_at": int(created_at.timestamp()),
            "request": None,
            "response": None,
            "metadata": {"region": "us-east-1"},
        }
    usage_fields: dict[str, Any] = {
        "prompt_tokens": tokens_prompt,
        "completion_tokens": tokens_completion,
        "total_tokens": tokens_prompt + tokens_completion,
        "cache_creation_input_tokens": tokens_cache_write,
        "cache_read_input_tokens": tokens_cached,
    }
    if tokens_reasoning:
        usage_fields["completion_tokens_details"] = {"reasoning_tokens": tokens_reasoning}
    return {
        "id": generation_id,
        "endpoint": "openai.chat.completions",
        "stream": streamed,
        "model": model,
        "created_at": int(created_at.timestamp()),
        "apiKeyId": f"ak_{hashlib.sha256(key_hash.encode()).hexdigest()[:12]}" if key_hash else None,
        "usage": usage_fields,
        "finish_reason": "stop",
        "status": "completed",
    }
