"""The source endpoints' guarantees, request by request: what is refused whole (and then nothing
is written), what is skipped and why, limits, encodings, and that a team's token reaches its own
keys only. Payloads start from one LiteLLM recorded (tests/fixtures/sources/)."""

import copy
import gzip
import json
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from accounts.models import AccessToken
from generations.models import Generation
from tests.api.factories import bearer_client, make_gateways, make_key, make_team

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sources"
RECORDED = json.loads((FIXTURES / "litellm_standard_logging_payload.json").read_text())
LITELLM = "/api/v1/integrations/litellm/"
OTLP = "/otlp/v1/traces"
NO_KEY = "no key of this team maps it; name one with the X-Tally-Api-Key header"


@pytest.fixture
def teams():
    gateways = make_gateways()
    return make_team("alpha", gateways), make_team("beta", gateways)


def payload(number: int, **changes) -> dict:
    """The recorded payload as another call: its own id, the api_base of the test gateway."""
    result = copy.deepcopy(RECORDED)
    result.update(id=f"gen-1796157383-{number:020d}", api_base="https://openrouter.example/api/v1/chat/completions")
    result.update(changes)
    return result


def post_litellm(team, body, **headers):
    client = bearer_client(team.ingest_token)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("POST", LITELLM, content, content_type="application/json", **headers)


def test_the_recorded_payload_becomes_exactly_the_generation_it_describes(teams):
    alpha, _ = teams

    answer = post_litellm(alpha, [payload(1)], HTTP_X_TALLY_API_KEY=alpha.key.slug)

    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "received": 1,
        "created": 1,
        "duplicates": 0,
        "conflicts": [],
        "skipped": 0,
        "skipped_reasons": {},
    }
    generation = Generation.objects.get()
    assert generation.external_id == "gen-1796157383-00000000000000000001"
    assert str(generation.cost.normalize()) == "0.0000042"  # the JSON number 4.2e-06, exactly
    assert (generation.tokens_prompt, generation.tokens_completion, generation.model) == (8, 5, "openai/gpt-4o-mini")
    assert (generation.api_key, generation.team) == (alpha.key, alpha.team)


def test_a_header_naming_another_teams_key_writes_nothing_to_it(teams):
    alpha, beta = teams

    answer = post_litellm(alpha, [payload(1)], HTTP_X_TALLY_API_KEY=beta.key.slug)

    assert answer.status_code == 200
    assert answer.json()["skipped_reasons"] == {"the X-Tally-Api-Key header names no active key of this team": 1}
    assert not Generation.objects.exists()


def test_a_deployment_declared_by_another_team_does_not_map_here(teams):
    alpha, beta = teams
    beta.key.litellm_models = ["shared-name"]
    beta.key.save()

    answer = post_litellm(alpha, [payload(1, model_group="shared-name")])

    assert answer.json()["skipped_reasons"] == {NO_KEY: 1}
    assert not Generation.objects.exists()


def test_a_name_two_keys_of_the_team_declare_maps_to_neither(teams):
    alpha, _ = teams
    second = make_key(alpha.team, alpha.key.gateway, "alpha-second")
    for key in (alpha.key, second):
        key.litellm_models = ["gpt-4o-mini"]
        key.save()

    answer = post_litellm(alpha, [payload(1, model_group="gpt-4o-mini")], HTTP_X_TALLY_API_KEY=alpha.key.slug)

    (reason,) = answer.json()["skipped_reasons"]
    assert reason.startswith("LiteLLM model 'gpt-4o-mini' is declared by several keys of this team")
    assert not Generation.objects.exists()


def test_the_api_base_a_key_declares_maps_its_calls(teams):
    alpha, _ = teams
    alpha.key.litellm_api_base = "https://openrouter.example/api/v1/"
    alpha.key.save()

    answer = post_litellm(alpha, [payload(1, api_base="https://openrouter.example/api/v1")])

    assert answer.json()["created"] == 1
    assert Generation.objects.get().api_key == alpha.key


def test_what_ingest_refuses_is_skipped_and_the_rest_is_written(teams):
    alpha, _ = teams
    body = [payload(1), payload(2, response_cost=-1), payload(3, id="gen-" + "x" * 300), payload(4)]

    answer = post_litellm(alpha, body, HTTP_X_TALLY_API_KEY=alpha.key.slug)

    result = answer.json()
    assert (result["created"], result["skipped"]) == (2, 2)
    assert result["skipped_reasons"] == {
        "refused by ingest: cost: must not be negative": 1,
        "refused by ingest: id: must be 1 to 255 characters of text, without NUL": 1,
    }
    assert Generation.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": "failure"}, "failed call (status 'failure')"),
        ({"cache_hit": True}, "served from LiteLLM's cache: no gateway call"),
        (
            {"custom_llm_provider": "anthropic", "api_base": "https://api.anthropic.com"},
            "provider 'anthropic' is not a gateway Tally tracks",
        ),
        ({"id": RECORDED["litellm_call_id"]}, "no gateway generation id (only LiteLLM's own call id)"),
        ({"response_cost": None}, "no response_cost"),
    ],
)
def test_payloads_that_are_not_tracked_calls_are_skipped_with_their_reason(teams, changes, reason):
    alpha, _ = teams

    answer = post_litellm(alpha, [payload(1, **changes)], HTTP_X_TALLY_API_KEY=alpha.key.slug)

    assert answer.status_code == 200
    assert answer.json()["skipped_reasons"] == {reason: 1}
    assert not Generation.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"generations": []}', b"[1, 2]", b'[{"id": "gen-1"}]', b"\xff\xfe"],
)
def test_a_body_that_is_not_litellms_format_is_a_400_and_writes_nothing(teams, body):
    alpha, _ = teams
    good = json.dumps(payload(1)).encode()

    answer = post_litellm(alpha, body if body != b"[1, 2]" else b"[" + good + b", 2]")

    assert answer.status_code == 400
    assert "detail" in answer.json()
    assert not Generation.objects.exists()


def test_ndjson_and_gzip_are_read(teams):
    alpha, _ = teams
    body = "\n".join(json.dumps(payload(number)) for number in (1, 2, 3)).encode()

    answer = post_litellm(alpha, gzip.compress(body), HTTP_X_TALLY_API_KEY=alpha.key.slug, HTTP_CONTENT_ENCODING="gzip")

    assert answer.json()["created"] == 3


def test_a_gzip_body_that_inflates_past_the_limit_is_refused(teams, settings):
    alpha, _ = teams
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    bomb = gzip.compress(b"[" + b" " * 1_000_000 + b"]")
    assert len(bomb) < 10_000

    answer = post_litellm(alpha, bomb, HTTP_CONTENT_ENCODING="gzip")

    assert answer.status_code == 413
    assert not Generation.objects.exists()


def test_other_encodings_are_a_415(teams):
    alpha, _ = teams
    answer = post_litellm(alpha, b"[]", HTTP_CONTENT_ENCODING="br")
    assert answer.status_code == 415


def test_a_token_without_the_ingest_scope_or_no_token_is_refused(teams):
    alpha, _ = teams
    for client, status in ((bearer_client(alpha.read_token), 403), (bearer_client("nope"), 401)):
        for path in (LITELLM, OTLP):
            answer = client.generic("POST", path, json.dumps([payload(1)]), content_type="application/json")
            assert answer.status_code == status, path
    assert not Generation.objects.exists()


def test_a_revoked_token_is_refused(teams):
    alpha, _ = teams
    AccessToken.objects.filter(team=alpha.team).update(revoked_at="2026-01-01T00:00:00Z")
    assert post_litellm(alpha, [payload(1)]).status_code == 401


# OTLP ---------------------------------------------------------------------------------------


def span_json(**attributes) -> bytes:
    def value(item):
        if isinstance(item, bool):
            return {"boolValue": item}
        if isinstance(item, int):
            return {"intValue": str(item)}
        if isinstance(item, float):
            return {"doubleValue": item}
        return {"stringValue": item}

    span = {
        "name": "chat",
        "startTimeUnixNano": "1764547200000000000",
        "attributes": [{"key": key.replace("__", "."), "value": value(item)} for key, item in attributes.items()],
    }
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


def post_otlp(team, body: bytes, content_type: str = "application/json", **headers):
    return bearer_client(team.ingest_token).generic("POST", OTLP, body, content_type=content_type, **headers)


def test_a_float_derived_cost_arrives_with_every_digit_it_was_sent_with(teams):
    alpha, _ = teams
    body = span_json(
        gen_ai__provider__name="openrouter",
        gen_ai__response__id="gen-float",
        gen_ai__request__model="openai/gpt-4o-mini",
        gen_ai__usage__input_tokens=10,
        gen_ai__usage__output_tokens=2,
        gen_ai__usage__cost=0.000123456789012,
    ).replace(b"0.000123456789012", b"0.000123456789")  # 12 places: what ingest stores today

    answer = post_otlp(alpha, body, HTTP_X_TALLY_API_KEY=alpha.key.slug)

    assert answer.status_code == 200, answer.content
    assert str(Generation.objects.get().cost.normalize()) == "0.000123456789"


def test_unsupported_media_types_are_a_415_and_garbage_protobuf_a_400_status(teams):
    alpha, _ = teams
    assert post_otlp(alpha, b"hello", content_type="text/plain").status_code == 415

    answer = post_otlp(alpha, b"\xff\xff\xff\xff", content_type="application/x-protobuf")

    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/x-protobuf"
    assert answer.content[:2] == bytes([0x08, 3])  # google.rpc.Status code INVALID_ARGUMENT


def test_an_empty_protobuf_export_is_answered_with_an_empty_response(teams):
    alpha, _ = teams
    answer = post_otlp(alpha, b"", content_type="application/x-protobuf")
    assert answer.status_code == 200
    assert ExportTraceServiceResponse.FromString(answer.content) == ExportTraceServiceResponse()


def test_a_span_without_an_id_or_a_key_is_rejected_with_its_reason(teams):
    alpha, _ = teams
    no_id = span_json(gen_ai__provider__name="openrouter", gen_ai__usage__cost=0.1)
    no_key = span_json(gen_ai__provider__name="openrouter", gen_ai__response__id="gen-1", gen_ai__usage__cost=0.1)

    first = post_otlp(alpha, no_id, HTTP_X_TALLY_API_KEY=alpha.key.slug).json()["partialSuccess"]
    second = post_otlp(alpha, no_key).json()["partialSuccess"]

    assert first == {"rejectedSpans": "1", "errorMessage": "skipped: no gen_ai.response.id (1)"}
    assert second["errorMessage"] == f"skipped: {NO_KEY} (1)"
    assert not Generation.objects.exists()


def test_protobuf_doubles_and_json_numbers_are_read_to_the_last_digit_without_float_arithmetic():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from generations.sources import otlp

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(name="chat", start_time_unix_nano=1)
    attribute = span.attributes.add(key="gen_ai.usage.total_cost")
    attribute.value.double_value = 0.00035999999999999997
    json_body = span_json(gen_ai__usage__total_cost=1.0).replace(b"1.0", b"1.2345678901234e-07")

    (from_protobuf,) = otlp.spans_from_protobuf(request.SerializeToString())
    (from_json,) = otlp.spans_from_json(json_body)

    assert str(from_protobuf.attributes["gen_ai.usage.total_cost"]) == "0.00035999999999999997"
    assert str(from_json.attributes["gen_ai.usage.total_cost"]) == "1.2345678901234E-7"


def test_the_answer_lists_at_most_a_hundred_reasons_however_many_providers_were_named(teams):
    alpha, _ = teams
    body = [payload(number, custom_llm_provider=f"provider-{number}", api_base="") for number in range(150)]

    result = post_litellm(alpha, body).json()

    assert result["skipped"] == 150
    assert len(result["skipped_reasons"]) == 100
