"""The adapter for each kind of gateway."""

from generations.gateways.adapter import GatewayAdapter
from generations.gateways.fastrouter import FastRouterAdapter
from generations.gateways.kushrouter import KushRouterAdapter
from generations.gateways.openrouter import OpenRouterAdapter

ADAPTERS: dict[str, GatewayAdapter] = {
    adapter.kind: adapter for adapter in (OpenRouterAdapter(), FastRouterAdapter(), KushRouterAdapter())
}


def adapter_for(kind: str) -> GatewayAdapter:
    """The adapter for a gateway kind (`openrouter`, `fastrouter`, `kushrouter`)."""
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise ValueError(f"unknown gateway kind {kind!r}; expected one of {', '.join(sorted(ADAPTERS))}") from None
