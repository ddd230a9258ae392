"""The ingest scenario's records as the other sources send them: LiteLLM's generic_api batches
(StandardLoggingPayloads in a JSON array of LiteLLM's default batch size, each the size of a real
one: the recorded payload in tests/fixtures/sources/) and OTLP/HTTP protobuf trace exports of
GenAI spans, as an OpenTelemetry SDK or Collector sends them."""

import copy
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from accounts.models import ApiKey
from lib.exact_json import dumps_exact, loads_exact

LITELLM_BATCH_SIZE = 512  # litellm.constants.DEFAULT_BATCH_SIZE
RECORDED_PAYLOAD = (
    Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sources" / "litellm_standard_logging_payload.json"
)


def declare_litellm_deployments(slugs: list[str]) -> None:
    """Each ingest key serves the LiteLLM model group named like its slug (how payloads map)."""
    for key in ApiKey.objects.filter(slug__in=slugs):
        if key.litellm_models != [key.slug]:
            key.litellm_models = [key.slug]
            key.save(update_fields=["litellm_models"])


def litellm_bodies(records: list[dict], *, kinds: dict[str, str]) -> list[str]:
    template = loads_exact(RECORDED_PAYLOAD.read_text())
    bodies = []
    for start in range(0, len(records), LITELLM_BATCH_SIZE):
        batch = []
        for record in records[start : start + LITELLM_BATCH_SIZE]:
            kind = kinds[record["api_key"]]
            payload = copy.deepcopy(template)
            payload.update(
                id=record["id"],
                custom_llm_provider=kind,
                api_base=f"https://{kind}.bench.example/api/v1/chat/completions",
                model=record["model"],
                model_group=record["api_key"],
                response_cost=Decimal(record["cost"]),
                prompt_tokens=record["tokens_prompt"],
                completion_tokens=record["tokens_completion"],
                startTime=Decimal(str(datetime.fromisoformat(record["created_at"]).timestamp())),
                stream=record["streamed"],
            )
            payload["hidden_params"] = {
                **payload["hidden_params"],
                "litellm_model_name": f"{kind}/{record['model']}",
                "api_base": None,
            }
            payload["metadata"] = {
                **payload["metadata"],
                "usage_object": {"prompt_tokens_details": {"cached_tokens": record["tokens_cached"]}},
            }
            batch.append(payload)
        bodies.append(dumps_exact(batch))
    return bodies


def otlp_bodies(records: list[dict], *, kinds: dict[str, str], size: int) -> list[bytes]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    bodies = []
    for start in range(0, len(records), size):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.add(key="service.name").value.string_value = "bench-app"
        spans = resource_spans.scope_spans.add().spans
        for number, record in enumerate(records[start : start + size]):
            created_at = datetime.fromisoformat(record["created_at"])
            span = spans.add(
                name=f"chat {record['model']}",
                trace_id=(start + number + 1).to_bytes(16, "big"),
                span_id=(start + number + 1).to_bytes(8, "big"),
                kind=3,
                start_time_unix_nano=int(created_at.timestamp() * 1e9),
                end_time_unix_nano=int(created_at.timestamp() * 1e9) + 900_000_000,
            )
            strings = {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": kinds[record["api_key"]],
                "gen_ai.request.model": record["model"],
                "gen_ai.response.model": record["model"],
                "gen_ai.response.id": record["id"],
                "tally.api_key": record["api_key"],
            }
            for key, value in strings.items():
                span.attributes.add(key=key).value.string_value = value
            for key, value in (
                ("gen_ai.usage.input_tokens", record["tokens_prompt"]),
                ("gen_ai.usage.output_tokens", record["tokens_completion"]),
                ("gen_ai.usage.cache_read.input_tokens", record["tokens_cached"]),
            ):
                span.attributes.add(key=key).value.int_value = value
            span.attributes.add(key="gen_ai.usage.cost").value.double_value = float(record["cost"])
        bodies.append(request.SerializeToString())
    return bodies


def created_in_litellm_answer(text: str) -> int:
    return json.loads(text)["created"]
