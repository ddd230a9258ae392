"""The OTLP/HTTP traces receiver, fed by the opentelemetry-sdk's own OTLP HTTP exporter (protobuf,
gzip) with GenAI spans of calls made to the gateway simulator's OpenRouter chat endpoint; then
reconciliation against the simulator."""

import gzip

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lib.exact_json import loads_exact
from generations.models import Generation
from tests.generations.sources.world import (
    assert_all_verified_against_the_simulator,
    bearer,
    reconcile_until_done,
    source_world_create,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def chat(simulator_url: str, secret: str, model: str) -> dict:
    """What an instrumented app does: one OpenRouter chat completion (here, the simulator's)."""
    answer = httpx.post(
        f"{simulator_url}/openrouter/api/v1/chat/completions",
        headers=bearer(secret),
        json={"model": model, "messages": [{"role": "user", "content": "Count the cost"}]},
    )
    answer.raise_for_status()
    return loads_exact(answer.text)


def record_genai_span(tracer, completion: dict, *, simulator_url: str, provider: str = "openrouter") -> None:
    """A client span as the GenAI semantic conventions describe an inference call."""
    host, port = simulator_url.removeprefix("http://").split(":")
    usage = completion["usage"]
    with tracer.start_as_current_span(f"chat {completion['model']}", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": completion["model"],
                "gen_ai.response.model": completion["model"],
                "gen_ai.response.id": completion["id"],
                "gen_ai.usage.input_tokens": usage["prompt_tokens"],
                "gen_ai.usage.output_tokens": usage["completion_tokens"],
                "gen_ai.usage.cache_read.input_tokens": usage["prompt_tokens_details"]["cached_tokens"],
                "gen_ai.usage.reasoning.output_tokens": usage["completion_tokens_details"]["reasoning_tokens"],
                "gen_ai.usage.cost": float(usage["cost"]),  # what an SDK has: a float
                "server.address": host,
                "server.port": int(port),
            }
        )


def test_the_sdk_exporter_sends_genai_spans_that_become_reconciled_generations(live_server, gateway_simulator):
    world = source_world_create(simulator_url=gateway_simulator.url)
    secret = world.secrets["main"]
    captured = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "billing-bot", "tally.api_key": world.keys["main"].slug})
    )
    provider.add_span_processor(SimpleSpanProcessor(captured))
    provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(
                endpoint=f"{live_server.url}/otlp/v1/traces", headers=bearer(world.token), compression=Compression.Gzip
            )
        )
    )
    tracer = provider.get_tracer("tests.billing-bot")
    completions = [
        chat(gateway_simulator.url, secret, model) for model in ("openai/gpt-4o-mini", "google/gemini-2.0-flash-001")
    ]
    with tracer.start_as_current_span("POST /reports"):  # the app's own span: not an LLM call
        for completion in completions:
            record_genai_span(tracer, completion, simulator_url=gateway_simulator.url)
        # A call straight to OpenAI: an LLM call, but not through a gateway Tally tracks.
        direct = {**completions[0], "id": "chatcmpl-direct-1"}
        record_genai_span(tracer, direct, simulator_url="http://api.openai.com:443", provider="openai")
    provider.force_flush()

    expected = {completion["id"] for completion in completions}
    stored = {generation.external_id: generation for generation in Generation.objects.all()}
    assert set(stored) == expected
    for completion in completions:
        generation = stored[completion["id"]]
        assert generation.api_key_id == world.keys["main"].pk
        assert generation.cost == completion["usage"]["cost"]  # exactly, through a protobuf double
        assert (generation.tokens_prompt, generation.tokens_completion) == (
            completion["usage"]["prompt_tokens"],
            completion["usage"]["completion_tokens"],
        )
        assert generation.model == completion["model"]

    # The same export once more, exactly as the exporter encodes it: nothing new, and the answer
    # is an ExportTraceServiceResponse whose partial_success counts the span it could not take.
    body = encode_spans(captured.get_finished_spans()).SerializePartialToString()
    answer = httpx.post(
        f"{live_server.url}/otlp/v1/traces",
        content=gzip.compress(body),
        headers={**bearer(world.token), "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/x-protobuf"
    response = ExportTraceServiceResponse.FromString(answer.content)
    assert response.partial_success.rejected_spans == 1
    assert "provider 'openai' is not a gateway Tally tracks (1)" in response.partial_success.error_message
    assert "not an LLM call" in response.partial_success.error_message
    assert Generation.objects.count() == 2

    reconcile_until_done()
    assert_all_verified_against_the_simulator(expected)
    provider.shutdown()
