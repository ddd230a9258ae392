"""What a gateway adapter is: how to ask for one generation, and how to read the answer.

Adapters only translate. Sending, timeouts, size caps and status codes are handled once, in
http.py; concurrency and batching in client.py.
"""

from typing import ClassVar

import httpx

from generations.gateways.base import GatewayGenerationRecord
from generations.gateways.http import GatewayAnswer, raise_for_status


class GatewayAdapter:
    """Base class: subclasses set `kind`, build the request and parse a 200 body."""

    kind: ClassVar[str]

    def build_request(
        self, client: httpx.AsyncClient, *, base_url: str, generation_id: str, secret: str
    ) -> httpx.Request:
        raise NotImplementedError

    def parse_body(self, body: str) -> GatewayGenerationRecord:
        raise NotImplementedError

    def parse_answer(self, answer: GatewayAnswer) -> GatewayGenerationRecord:
        """A record from a 200 answer; any other status becomes its typed error."""
        raise_for_status(answer)
        return self.parse_body(answer.body)


def endpoint(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path
