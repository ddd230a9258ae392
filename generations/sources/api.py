"""The source endpoints: LiteLLM's generic_api callback and the OTLP/HTTP traces receiver.

Both authenticate with a Tally access token with the `ingest` scope (`Authorization: Bearer ...`,
set in the sender's headers), write only to that token's team, read at most
DATA_UPLOAD_MAX_MEMORY_SIZE bytes (also after gzip), and answer what they did with every payload.
"""

import json
import zlib

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from google.protobuf import json_format
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import AccessTokenAuthentication
from generations.parsers import RequestTooLarge
from generations.sources import litellm, otlp
from generations.sources.keys import HEADER, TeamKeys
from generations.sources.recording import NotTheFormat, SourceOutcome, TooManyPayloads, source_records_ingest
from lib.permissions import CanIngest
from lib.schema import error_responses

PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
JSON_TYPE = "application/json"


def request_body(request: Request) -> bytes:
    """The body, gunzipped if it says so, refused past DATA_UPLOAD_MAX_MEMORY_SIZE either way."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    too_large = RequestTooLarge(f"The body is larger than {limit} bytes; send smaller batches.")
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    raw = request._request.read(limit + 1)
    if len(raw) > limit:
        raise too_large
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise exceptions.UnsupportedMediaType(
            encoding, f"Content-Encoding {encoding[:40]!r} is not supported; use gzip."
        )
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = decompressor.decompress(raw, limit + 1)
    except zlib.error:
        raise NotTheFormat("The body says it is gzip but is not.") from None
    if len(body) > limit or decompressor.unconsumed_tail:
        raise too_large
    if not decompressor.eof:
        raise NotTheFormat("The gzip body is cut short.")
    return body


class SourceView(APIView):
    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [CanIngest]
    parser_classes: list = []

    def team_keys(self, request: Request) -> TeamKeys:
        return TeamKeys.load(team=request.user.team, header_slug=request.headers.get(HEADER, ""))


class LiteLLMIngestView(SourceView):
    @extend_schema(
        summary="Record generations from LiteLLM's generic_api logging callback",
        description=(
            "Takes what LiteLLM's `generic_api` callback sends: StandardLoggingPayload objects as a "
            "JSON array (`log_format: json_array`), newline-delimited JSON (`ndjson`) or one object "
            "(`single`), gzip allowed. Successful calls through a gateway Tally tracks become "
            "generations of the key they map to (`ApiKey.litellm_models`, `litellm_api_base`, else the "
            "`X-Tally-Api-Key: SLUG` header); everything else is skipped and counted with its reason. "
            "Idempotent on (gateway, id). Only a body that is not LiteLLM's format is a 400."
        ),
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description="received, created, duplicates, conflicts, skipped, skipped_reasons"
            ),
            400: OpenApiResponse(description="Not LiteLLM's format; nothing written."),
            **error_responses(401, 403, 413),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            payloads = litellm.payloads_from_body(request_body(request))
            keys = self.team_keys(request)
            translated = [litellm.record_from_payload(payload, keys) for payload in payloads]
            outcome = source_records_ingest(translated=translated, team=request.user.team)
        except NotTheFormat as error:
            raise exceptions.ParseError(str(error)) from None
        except TooManyPayloads as error:
            raise RequestTooLarge(str(error)) from None
        return Response(outcome.as_dict(), status=status.HTTP_200_OK)


class OtlpTracesView(SourceView):
    """An OTLP/HTTP traces receiver (`POST /otlp/v1/traces`; PUT too, as OpenRouter Broadcast's
    webhook may use): protobuf or JSON, gzip, `partial_success` for the LLM spans it could not
    record, 400 with a `google.rpc.Status` for a body that is not an export, 415 for other media
    types. OpenRouter Broadcast's connection test (`X-Test-Connection: true`) is answered 200 and
    writes nothing."""

    @extend_schema(exclude=True)
    def post(self, request: Request) -> HttpResponse:
        content_type = request.content_type.split(";")[0].strip().lower()
        as_protobuf = content_type in PROTOBUF_TYPES
        if request.headers.get("X-Test-Connection", "").strip().lower() == "true":
            return _export_response(SourceOutcome(), rejected=0, as_protobuf=as_protobuf)
        if not as_protobuf and content_type != JSON_TYPE:
            return _status_response(
                415, "Send application/x-protobuf or application/json (OTLP/HTTP).", as_protobuf=False
            )
        try:
            body = request_body(request)
            spans = otlp.spans_from_protobuf(body) if as_protobuf else otlp.spans_from_json(body)
            translated = otlp.records_from_spans(spans, self.team_keys(request))
            outcome = source_records_ingest(translated=translated, team=request.user.team)
        except NotTheFormat as error:
            return _status_response(400, str(error), as_protobuf=as_protobuf)
        except (TooManyPayloads, RequestTooLarge) as error:
            return _status_response(413, str(getattr(error, "detail", error)), as_protobuf=as_protobuf)
        except exceptions.UnsupportedMediaType as error:
            return _status_response(415, str(error.detail), as_protobuf=as_protobuf)
        rejected = sum(count for reason, count in outcome.skipped.items() if reason not in otlp.IGNORED)
        return _export_response(outcome, rejected=rejected, as_protobuf=as_protobuf)

    @extend_schema(exclude=True)
    def put(self, request: Request) -> HttpResponse:
        return self.post(request)


def _export_response(outcome: SourceOutcome, *, rejected: int, as_protobuf: bool) -> HttpResponse:
    """An ExportTraceServiceResponse in the request's encoding. The spec lets a server put
    warnings in error_message with rejected_spans 0: the spans it ignored are said there."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    message = ExportTraceServiceResponse()
    if outcome.skipped:
        message.partial_success.rejected_spans = rejected
        message.partial_success.error_message = f"skipped: {outcome.summary()}"[:4000]
    if as_protobuf:
        return HttpResponse(message.SerializeToString(), content_type="application/x-protobuf")
    return HttpResponse(json_format.MessageToJson(message, indent=None), content_type=JSON_TYPE)


# google.rpc.Code: INVALID_ARGUMENT, RESOURCE_EXHAUSTED.
RPC_CODES = {400: 3, 413: 8, 415: 3}


def _status_response(http_status: int, text: str, *, as_protobuf: bool) -> HttpResponse:
    """The error body OTLP/HTTP asks for: a google.rpc.Status in the request's encoding."""
    code = RPC_CODES[http_status]
    if as_protobuf:
        encoded = text.encode("utf-8")[:4000]
        body = bytes([0x08, code, 0x12]) + _varint(len(encoded)) + encoded  # field 1 code, field 2 message
        return HttpResponse(body, status=http_status, content_type="application/x-protobuf")
    return HttpResponse(json.dumps({"code": code, "message": text}), status=http_status, content_type=JSON_TYPE)


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)
