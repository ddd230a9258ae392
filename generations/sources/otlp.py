"""OTLP/HTTP trace exports (protobuf or JSON) to ingest records, one per span that is an LLM call.

The encodings are the OTLP specification's (https://opentelemetry.io/docs/specs/otlp/): an
`ExportTraceServiceRequest` as protobuf (decoded with `opentelemetry-proto`) or as OTLP/JSON
(lowerCamelCase field names, trace and span ids in hex, 64-bit integers as strings or numbers).
Doubles are read exactly: JSON numbers through Decimal, protobuf doubles by their shortest
round-trip text (`repr`), never by float arithmetic.

Which spans are LLM calls, and what they say, follows the OpenTelemetry GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/): `gen_ai.response.id`,
`gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.input_tokens`,
`gen_ai.usage.output_tokens`, `gen_ai.usage.cache_read.input_tokens`,
`gen_ai.usage.reasoning.output_tokens`, `gen_ai.provider.name` (older: `gen_ai.system`),
`server.address` / `server.port`; plus what OpenRouter Broadcast adds
(https://openrouter.ai/docs/guides/features/broadcast/overview and /webhook; attribute names as
a public parser of its payloads reads them, e.g. the `openrouter` profile of a Rust OTLP reader:
root span `LLM Generation` with children `generation` and `provider attempt N: ...` that repeat
it, `gen_ai.usage.input_tokens.cached`, `gen_ai.usage.output_tokens.reasoning`,
`gen_ai.usage.total_cost` (USD), `trace.metadata.openrouter.api_key_name` (some deliveries say
`openrouter.api_key_name`), the connection-test span `openrouter-connection-test`). A span is
also mapped to a key by a `tally.api_key` attribute (on the span or its resource), for
collectors that add one.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from generations.sources.keys import Skip, TeamKeys, address_of
from generations.sources.recording import MAX_PAYLOADS, NotTheFormat, TooManyPayloads
from lib.exact_json import loads_exact

NOT_AN_LLM_CALL = "not an LLM call (no gen_ai.* attributes)"
REPEATS_ITS_ROOT = "an OpenRouter child span that repeats its root span"
CONNECTION_TEST = "OpenRouter's connection test"
# Skips that are not data Tally failed to take: OTLP's rejected_spans does not count them.
IGNORED = frozenset({NOT_AN_LLM_CALL, REPEATS_ITS_ROOT, CONNECTION_TEST})

OPENROUTER = "openrouter"
BROADCAST_ROOT_SPANS = frozenset({"LLM Generation"})
BROADCAST_TEST_SPANS = frozenset({"openrouter-connection-test", "Test Generation"})
BROADCAST_CHILD_PREFIXES = ("generation", "provider attempt ")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
MAX_SPANS = 200_000


@dataclass
class Span:
    """One span, decoded from either encoding into plain Python values."""

    name: str
    start_time_unix_nano: int
    attributes: dict[str, Any]
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str = ""


# Decoding ------------------------------------------------------------------------------------


def spans_from_json(body: bytes) -> list[Span]:
    """The spans of an OTLP/JSON ExportTraceServiceRequest; NotTheFormat if the body is not one."""
    if not body.strip():
        return []
    try:
        document = loads_exact(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotTheFormat("The body is not UTF-8 text.") from None
    except (ValueError, RecursionError) as error:
        raise NotTheFormat(f"The body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise NotTheFormat("An OTLP/JSON trace export is an object with resourceSpans.")
    spans: list[Span] = []
    for resource_spans in _list(_field(document, "resourceSpans"), "resourceSpans"):
        resource = _attributes_json(_field(_object(_field(resource_spans, "resource")), "attributes"))
        for scope_spans in _list(_field(resource_spans, "scopeSpans"), "scopeSpans"):
            scope = _object(_field(scope_spans, "scope"))
            scope_name = scope.get("name") if isinstance(scope.get("name"), str) else ""
            for span in _list(_field(scope_spans, "spans"), "spans"):
                span = _object(span, "a span")
                spans.append(
                    Span(
                        name=span.get("name") if isinstance(span.get("name"), str) else "",
                        start_time_unix_nano=_integer(_field(span, "startTimeUnixNano"), "startTimeUnixNano"),
                        attributes=_attributes_json(_field(span, "attributes")),
                        resource=resource,
                        scope=scope_name,
                    )
                )
                _check_count(spans)
    return spans


def spans_from_protobuf(body: bytes) -> list[Span]:
    """The spans of a protobuf ExportTraceServiceRequest; NotTheFormat if the body is not one."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as error:
        raise NotTheFormat(f"The body is not a protobuf ExportTraceServiceRequest: {error}") from None
    spans: list[Span] = []
    for resource_spans in request.resource_spans:
        resource = {item.key: _any_value_protobuf(item.value) for item in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    Span(
                        name=span.name,
                        start_time_unix_nano=span.start_time_unix_nano,
                        attributes={item.key: _any_value_protobuf(item.value) for item in span.attributes},
                        resource=resource,
                        scope=scope_spans.scope.name,
                    )
                )
                _check_count(spans)
    return spans


def _check_count(spans: list[Span]) -> None:
    if len(spans) > MAX_SPANS:
        raise TooManyPayloads(f"at most {MAX_SPANS} spans a request; export smaller batches")


def _field(message: Any, camel: str) -> Any:
    """A field by its lowerCamelCase name or, as protobuf's JSON mapping also allows, snake_case."""
    if not isinstance(message, dict):
        return None
    if camel in message:
        return message[camel]
    return message.get(re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower())


def _object(value: Any, what: str = "a message") -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NotTheFormat(f"{what} must be a JSON object")
    return value


def _list(value: Any, name: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise NotTheFormat(f"{name} must be a JSON array")
    return value


def _integer(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,20}", value):
        return int(value)
    raise NotTheFormat(f"{name} must be an integer (a JSON number or a string of digits)")


def _attributes_json(items: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for item in _list(items, "attributes"):
        item = _object(item, "an attribute")
        key = item.get("key")
        if isinstance(key, str):
            attributes[key] = _any_value_json(item.get("value"))
    return attributes


def _any_value_json(value: Any) -> Any:
    value = _object(value, "an attribute value")
    if "stringValue" in value or "string_value" in value:
        return _field(value, "stringValue")
    if "boolValue" in value or "bool_value" in value:
        return _field(value, "boolValue")
    if "intValue" in value or "int_value" in value:
        return _integer(_field(value, "intValue"), "intValue")
    if "doubleValue" in value or "double_value" in value:
        number = _field(value, "doubleValue")
        if isinstance(number, str) and NUMBER.fullmatch(number):
            return Decimal(number)
        return number if isinstance(number, int | Decimal) and not isinstance(number, bool) else None
    if "arrayValue" in value or "array_value" in value:
        return [_any_value_json(item) for item in _list(_field(_field(value, "arrayValue"), "values"), "values")]
    return None  # kvlistValue, bytesValue: nothing a generation is made of


def _any_value_protobuf(value) -> Any:
    kind = value.WhichOneof("value")
    if kind == "double_value":
        try:
            return Decimal(repr(value.double_value))
        except InvalidOperation:
            return None
    if kind == "array_value":
        return [_any_value_protobuf(item) for item in value.array_value.values]
    if kind in ("string_value", "bool_value", "int_value"):
        return getattr(value, kind)
    return None


# Translating ---------------------------------------------------------------------------------


def is_from_broadcast(span: Span) -> bool:
    return (
        span.resource.get("service.name") == OPENROUTER
        or span.scope == OPENROUTER
        or any(name.startswith(("trace.metadata.openrouter.", "openrouter.")) for name in span.attributes)
    )


def records_from_spans(spans: list[Span], keys: TeamKeys) -> list[dict | Skip]:
    translated = [record_from_span(span, keys) for span in spans]
    if sum(1 for item in translated if isinstance(item, dict)) > MAX_PAYLOADS:
        raise TooManyPayloads(f"at most {MAX_PAYLOADS} LLM spans a request; export smaller batches")
    return translated


def record_from_span(span: Span, keys: TeamKeys) -> dict | Skip:
    """The ingest record for one span, or why there is none."""
    attributes = span.attributes
    broadcast = is_from_broadcast(span)
    if broadcast and (span.name in BROADCAST_TEST_SPANS):
        return Skip(CONNECTION_TEST)
    if broadcast and span.name not in BROADCAST_ROOT_SPANS and span.name.startswith(BROADCAST_CHILD_PREFIXES):
        return Skip(REPEATS_ITS_ROOT)
    if not any(name.startswith("gen_ai.") for name in attributes):
        return Skip(NOT_AN_LLM_CALL)
    provider = (
        OPENROUTER if broadcast else _text(attributes.get("gen_ai.provider.name") or attributes.get("gen_ai.system"))
    )
    address = _server_address(attributes)
    if not keys.is_tracked(provider=provider, address=address):
        return Skip(f"provider {provider[:40] or address[:60]!r} is not a gateway Tally tracks")
    key = _key_for(span, keys)
    if isinstance(key, Skip):
        return key
    if not keys.fits(key, provider=provider, address=address):
        return Skip(f"the key it maps to is on gateway {key.gateway.slug!r}, but the call went elsewhere")
    generation_id = _text(attributes.get("gen_ai.response.id"))
    if not generation_id:
        return Skip("no gen_ai.response.id")
    cost = _first(attributes, "gen_ai.usage.total_cost", "gen_ai.usage.cost")
    if cost is None:
        return Skip("no cost (gen_ai.usage.total_cost or gen_ai.usage.cost)")
    created_at = _created_at(span.start_time_unix_nano)
    if created_at is None:
        return Skip("no start time")
    record: dict[str, Any] = {
        "gateway": key.gateway.slug,
        "id": generation_id,
        "api_key": key.slug,
        "model": _first(attributes, "gen_ai.request.model", "gen_ai.response.model"),
        "created_at": created_at,
        "tokens_prompt": _first(attributes, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        "tokens_completion": _first(attributes, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
        "tokens_cached": _first(
            attributes,
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.input_tokens.cached",
            "gen_ai.usage.cache_read_input_tokens",
        ),
        "tokens_reasoning": _first(
            attributes, "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.output_tokens.reasoning"
        ),
        "cost": cost,
    }
    if _openrouter_attribute(attributes, "is_byok") is True:
        record["is_byok"] = True
    return record


def _key_for(span: Span, keys: TeamKeys):
    key_name = _text(_openrouter_attribute(span.attributes, "api_key_name"))
    found = keys.first_declared(keys.by_broadcast_name, [key_name], "OpenRouter key name")
    if found is not None:
        return found
    slug = _text(span.attributes.get("tally.api_key") or span.resource.get("tally.api_key"))
    if slug:
        return keys.by_slug.get(slug) or Skip("its tally.api_key names no active key of this team")
    return keys.header_key()


def _created_at(unix_nano: int) -> str | None:
    if unix_nano <= 0:
        return None
    try:
        seconds = datetime.fromtimestamp(unix_nano // 1_000_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return seconds.replace(microsecond=unix_nano // 1000 % 1_000_000).isoformat()


def _openrouter_attribute(attributes: dict, name: str) -> Any:
    return _first(attributes, f"trace.metadata.openrouter.{name}", f"openrouter.{name}")


def _server_address(attributes: dict) -> str:
    host = _text(attributes.get("server.address"))
    port = attributes.get("server.port")
    if host and isinstance(port, int) and not isinstance(port, bool):
        return address_of(f"{host}:{port}")
    return address_of(host)


def _first(attributes: dict, *names: str) -> Any:
    for name in names:
        if attributes.get(name) is not None:
            return attributes[name]
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
