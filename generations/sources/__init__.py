"""Sources of generations other than Tally's own API: spend that is already recorded elsewhere.

Each source only translates. A LiteLLM `StandardLoggingPayload` (`litellm.py`) or an OTLP span
(`otlp.py`) becomes a record in exactly the wire format of `POST /api/v1/generations/`, or a
`Skip` with the reason it cannot be one; `recording.py` hands the records to the one ingest path
(`generations.ingest.generations_ingest`), which validates and writes them all or nothing and
idempotently. Which Tally key a payload belongs to is decided by `keys.py`, within the calling
token's team only. `api.py` holds the thin views.

Unlike the API, a source does not refuse a whole request for records it cannot map (LiteLLM and
OTLP exporters would resend the whole batch, or drop it): those are skipped and counted with
their reasons. Only a body that is not the format at all is refused.
"""
