"""The simulator's ASGI application: three gateway protocols and the control endpoints."""

import asyncio
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from demo.simulator.activity import account_routes
from demo.simulator.answers import (
    FAULTS,
    JSON,
    DroppedConnectionResponse,
    error_response,
    rate_limited_response,
    record_response,
    scripted_response,
)
from demo.simulator.chat import chat_routes
from demo.simulator.model_list import model_list_routes
from demo.simulator.protocol import rate_limit_headers
from demo.simulator.records import generated_record, parse_specs
from demo.simulator.state import SimulatorState
from lib.exact_json import dumps_exact, loads_exact


def json_response(value: Any, status: int = 200) -> Response:
    return Response(dumps_exact(value), status_code=status, media_type=JSON)


def create_app(state: SimulatorState | None = None) -> Starlette:
    """The simulator app over `state` (a fresh one if not given), which tests can inspect."""
    state = state or SimulatorState()

    async def lookup(protocol: str, request: Request, generation_id: str | None) -> Response:
        stats = state.stats
        stats.requests[protocol] += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        outcome = "error"
        try:
            if generation_id:
                stats.lookups[generation_id] += 1
            if state.config.latency_ms:
                await asyncio.sleep(state.config.latency_ms / 1000)
            response = await answer(protocol, request, generation_id)
            outcome = "reset" if isinstance(response, DroppedConnectionResponse) else str(response.status_code)
            return response
        finally:
            stats.in_flight -= 1
            stats.statuses[outcome] += 1
            stats.by_protocol[protocol][outcome] += 1

    async def answer(protocol: str, request: Request, generation_id: str | None) -> Response:
        config = state.config
        authorization = request.headers.get("authorization", "")
        key = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        if not key:
            return error_response(protocol, 401)
        if not generation_id:
            return error_response(protocol, 400, "id is required")
        if config.payment_required_for(protocol):
            return error_response(protocol, 402)
        if state.over_rate_limit(protocol):
            return rate_limited_response(protocol)
        if not state.key_is_valid(protocol, key):
            return error_response(protocol, 401, "Invalid API key")
        record = state.records.get((protocol, generation_id))
        step = state.next_scripted_answer(generation_id)
        if step is None and config.fault_rate and state.random.random() < config.fault_rate:
            step = state.random.choice(FAULTS)
        if step is not None:
            scripted = await scripted_response(
                step, protocol=protocol, record=record, hold_seconds=config.timeout_hold_seconds
            )
            if scripted is not None:
                return scripted
        if record is None and config.generate_unknown:
            record = generated_record(protocol, generation_id)
        if record is None or (record.key and record.key != key) or not state.visible(record):
            return error_response(protocol, 404)
        return record_response(record, headers=_rate_limit_headers(state, protocol))

    async def openrouter(request: Request) -> Response:
        return await lookup("openrouter", request, request.query_params.get("id"))

    async def kushrouter(request: Request) -> Response:
        return await lookup("kushrouter", request, request.query_params.get("id"))

    async def kushrouter_alias(request: Request) -> Response:
        state.stats.requests["kushrouter"] += 1
        state.stats.statuses["307"] += 1
        state.stats.by_protocol["kushrouter"]["307"] += 1
        query = urlencode(list(request.query_params.multi_items()))
        target = request.url.path.removesuffix("/generation") + "/generations"
        return RedirectResponse(f"{target}?{query}" if query else target, status_code=307)

    async def fastrouter(request: Request) -> Response:
        try:
            payload = loads_exact(await request.body())
        except (ValueError, RecursionError):
            payload = None
        generation_id = payload.get("generation_id") if isinstance(payload, dict) else None
        if payload is not None and generation_id is not None and not isinstance(generation_id, str):
            generation_id = str(generation_id)
        return await lookup("fastrouter", request, generation_id)

    async def add_records(request: Request) -> Response:
        try:
            records = parse_specs((await request.body()).decode())
        except (ValueError, RecursionError, UnicodeDecodeError) as error:
            return json_response({"error": str(error)}, status=400)
        state.add_records(records)
        return json_response({"added": len(records), "records": len(state.records)})

    async def configure(request: Request) -> Response:
        try:
            changes = loads_exact(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the config is a JSON object")
            state.configure({name: _plain(value) for name, value in changes.items()})
        except (ValueError, TypeError) as error:
            return json_response({"error": str(error)}, status=400)
        return json_response(state.config.as_dict())

    async def stats(request: Request) -> Response:
        return json_response({**state.stats.as_dict(), "records": len(state.records)})

    async def reset(request: Request) -> Response:
        state.reset(
            records=request.query_params.get("records") in ("1", "true"),
            config=request.query_params.get("config") in ("1", "true"),
        )
        return json_response({"records": len(state.records)})

    routes = [
        Route("/openrouter/api/v1/generation", openrouter, methods=["GET"]),
        Route("/fastrouter/api/v1/generation", fastrouter, methods=["POST"]),
        Route("/kushrouter/api/v1/generations", kushrouter, methods=["GET"]),
        Route("/kushrouter/api/v1/generation", kushrouter_alias, methods=["GET"]),
        Route("/_sim/records", add_records, methods=["POST"]),
        Route("/_sim/config", configure, methods=["POST"]),
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        *account_routes(state),
        *chat_routes(state),
        *model_list_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.simulator = state
    return app


def _rate_limit_headers(state: SimulatorState, protocol: str) -> dict[str, str] | None:
    """OpenRouter tells every answer where its rate-limit window stands."""
    if protocol != "openrouter":
        return None
    return rate_limit_headers(limit=state.config.rate_limit_per_second, used_this_second=state.used_this_second(protocol))


def _plain(value: Any) -> Any:
    """Config numbers arrive as Decimal; settings are plain numbers."""
    return float(value) if isinstance(value, Decimal) else value
