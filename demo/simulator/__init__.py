"""A gateway simulator: OpenRouter, FastRouter and KushRouter on one local HTTP server.

Tests, benchmarks and the demo point gateways at it (`http://127.0.0.1:PORT/openrouter`,
`/fastrouter`, `/kushrouter`). It behaves like the real gateways where reconciliation cares:
bearer keys, 404 until a record appears and after retention, 429 with Retry-After, faults.

Protocol endpoints
    GET  /openrouter/api/v1/generation?id=ID   -> {"data": {...}}
    POST /fastrouter/api/v1/generation         {"generation_id": ID} -> {...}
    GET  /kushrouter/api/v1/generations?id=ID  -> {"success": true, "generation": {...}}
    GET  /kushrouter/api/v1/generation?id=ID   -> 307 to /kushrouter/api/v1/generations?id=ID
    POST /openrouter/api/v1/chat/completions   an OpenRouter-like answer (gen- id, usage with cost); the
                                               generation is recorded for the lookup (simulator/chat.py)
    GET  /openrouter/api/v1/models             -> {"data": [{"id", "pricing": {...}}, ...]} (model_list.py)

Control endpoints
    POST /_sim/records   a JSON list or JSONL of record specs; answers {"added": n, "records": total}
    POST /_sim/config    any of: latency_ms, fault_rate (0..1), rate_limit_per_second (per protocol,
                         0 = none), not_found_seconds, retention_seconds (null = forever),
                         payment_required (true, or a list of protocols), timeout_hold_seconds,
                         generate_unknown (fabricate records for unknown ids), keys (extra valid
                         keys), seed, scripts ({"ID": ["404", "ok"], ...}); answers the config
    GET  /_sim/stats     requests per protocol and per status, in_flight, max_in_flight, lookups per id
    POST /_sim/models    a JSON list of model objects: replaces the model list
    POST /_sim/reset     clears stats; ?records=1 also clears records and scripts; ?config=1 restores
                         the default config

Record spec (one JSON object per JSONL line or list item):
    {"protocol": "openrouter" | "fastrouter" | "kushrouter",
     "id": "gen-...",
     "key": "secret",          optional: the only key that may read it (else any valid key)
     "created_at": "ISO 8601", optional, default: when it was loaded
     "body": {...},            the gateway's own fields: OpenRouter's `data` object, FastRouter's
                               flat object, KushRouter's `generation` object
     "raw_body": "...",        optional: sent verbatim instead of the wrapped body
     "raw_body_base64": "...", optional: bytes sent verbatim (e.g. invalid UTF-8)
     "script": ["404", "429", "500", "ok", ...],  optional: answers to successive lookups of this
                               id, then "ok" forever
     "planted": "cost_mismatch",  any other key (e.g. "planted") is ignored by the simulator
     "absent": true}           optional: the gateway never saw this id; the spec is skipped, so
                               files can list generations that are planted as missing

Numbers in bodies go out exactly as given (they are kept as Decimal, never float).

Script answers: "ok"; any HTTP status ("404", "500", "502", "524", "529", "401", "402", ...);
"429" (Retry-After: 1), "429:N" (Retry-After: N seconds), "429@N" (Retry-After as an HTTP date N
seconds ahead); "timeout" (held for timeout_hold_seconds, then 504); "reset" (the connection drops
mid-answer); "malformed" (an HTML page with status 200); "truncated" (the record's JSON cut short);
"huge" (6 MB of JSON with a Content-Length); "huge_stream" (the same, streamed without one).

A record is 404 until `not_found_seconds` after its created_at, and again once
`retention_seconds` past it. A key is valid if some record of that protocol names it or it is
in `keys`; when neither names any key, every non-empty key is valid. An invalid key is 401;
a valid key that did not make the generation gets 404, as on KushRouter.
"""
