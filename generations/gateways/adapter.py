"""What a gateway adapter is: how to ask for one generation, and how to read the answer.

Adapters only translate. Sending, timeouts, size caps and status codes are handled once, in
http.py; concurrency and batching in client.py.
"""

from typing import ClassVar

from generations.gateways.base import BadPayload, GatewayGenerationRecord
from generations.gateways.http import GatewayAnswer, HttpRequest, raise_for_status


class GatewayAdapter:
    """Base class: subclasses set `kind` and `lookup_path` (where the gateway usually answers
    lookups; a Gateway's own lookup_path overrides it), build the request and parse a 200 body."""

    kind: ClassVar[str]
    lookup_path: ClassVar[str] = "/api/v1/generation"

    def build_request(self, *, base_url: str, path: str, generation_id: str, secret: str) -> HttpRequest:
        raise NotImplementedError

    def parse_body(self, body: str) -> GatewayGenerationRecord:
        raise NotImplementedError

    def parse_answer(self, answer: GatewayAnswer) -> GatewayGenerationRecord:
        """A record from a 200 answer; any other status becomes its typed error. A body that
        cannot be read is BadPayload carrying the body, so it can be kept for audit."""
        raise_for_status(answer)
        try:
            return self.parse_body(answer.body)
        except BadPayload as error:
            if error.body is None:
                error.body = answer.body
            raise


def endpoint(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path
