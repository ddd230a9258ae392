"""The answers a simulated gateway can give: records, errors and the faults real ones produce."""

import asyncio
import time
from email.utils import formatdate

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from demo.simulator.protocol import fastrouter_error, payment_required_with_retry_after
from demo.simulator.records import SimulatedRecord
from lib.exact_json import dumps_exact

JSON = "application/json"
HUGE_BYTES = 6 * 1024 * 1024
FAULTS = ("500", "500", "500", "502", "502", "524", "529", "429", "429", "malformed", "truncated", "reset", "timeout")
ERROR_MESSAGES = {
    400: "Bad request",
    401: "No auth credentials found",
    402: "Insufficient credits",
    403: "Forbidden",
    404: "Generation not found",
    429: "Rate limit exceeded",
    500: "Internal Server Error",
    502: "Bad gateway: upstream provider error",
    503: "Service unavailable",
    524: "A timeout occurred",
    529: "Provider overloaded",
}


class SimulatedConnectionReset(Exception):
    """Raised after part of an answer was sent, so the server drops the connection."""


class DroppedConnectionResponse(Response):
    """Announces a body, sends half of it and breaks the connection, like a reset mid-answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", JSON.encode()),
                                                                      (b"content-length", b"4096")]}
        )
        await send({"type": "http.response.body", "body": b'{"data": {"id": "', "more_body": True})
        raise SimulatedConnectionReset("simulated connection reset")


def error_body(protocol: str, status: int, message: str | None = None) -> str:
    message = message or ERROR_MESSAGES.get(status, "Error")
    if protocol == "kushrouter":
        return dumps_exact({"success": False, "error": message})
    if protocol == "fastrouter":
        return dumps_exact(fastrouter_error(status, message))
    return dumps_exact({"error": {"code": status, "message": message}})


def error_response(protocol: str, status: int, message: str | None = None, headers: dict | None = None) -> Response:
    return Response(error_body(protocol, status, message), status_code=status, media_type=JSON, headers=headers)


def record_response(record: SimulatedRecord, headers: dict[str, str] | None = None) -> Response:
    return Response(record.text, media_type=JSON, headers=headers)


def _huge_chunks(protocol: str):
    yield b'{"data": {"id": "huge", "padding": "'
    chunk = b"x" * 65536
    for _ in range(HUGE_BYTES // len(chunk)):
        yield chunk
    yield b'"}}'


async def scripted_response(
    step: str, *, protocol: str, record: SimulatedRecord | None, hold_seconds: float
) -> Response | None:
    """The answer a script step or fault stands for; None for "ok" (answer normally)."""
    step = step.strip().lower()
    if step == "ok":
        return None
    if step.startswith("429"):
        return rate_limited_response(protocol, step)
    budget = payment_required_with_retry_after(step)
    if budget:
        status, headers = budget
        return error_response(protocol, status, "Temporary in-flight budget exceeded", headers=headers)
    if step.isdigit():
        return error_response(protocol, int(step))
    if step == "timeout":
        await asyncio.sleep(hold_seconds)
        return error_response(protocol, 504, "Gateway timeout")
    if step == "reset":
        return DroppedConnectionResponse()
    if step == "malformed":
        return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", media_type="text/html")
    if step == "truncated":
        text = record.text if record else error_body(protocol, 200, "a record that was cut short")
        return Response(text[: max(len(text) // 2, 1)], media_type=JSON)
    if step == "huge":
        return Response(b"".join(_huge_chunks(protocol)), media_type=JSON)
    if step == "huge_stream":
        return StreamingResponse(_huge_chunks(protocol), media_type=JSON)
    return error_response(protocol, 500, f"unknown script step {step!r}")


def rate_limited_response(protocol: str, step: str = "429") -> Response:
    """429 with Retry-After: "429" waits 1 s, "429:N" N seconds, "429@N" an HTTP date N seconds ahead."""
    retry_after = "1"
    if step.startswith("429:"):
        retry_after = step[4:]
    elif step.startswith("429@"):
        retry_after = formatdate(time.time() + float(step[4:]), usegmt=True)
    return error_response(protocol, 429, headers={"Retry-After": retry_after})
