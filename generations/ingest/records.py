"""What ingest passes around: a validated record, an error, the outcome of a request."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, NamedTuple

from generations.models import REPORTED_FIELDS
from lib.errors import DomainError


@dataclass(frozen=True)
class RecordError:
    """What is wrong with one record (`index`) or with the request as a whole (index None)."""

    index: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class IngestRejected(DomainError):
    """The request was invalid; nothing was written. Answered with every error by index and field."""

    def __init__(self, errors: list[RecordError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors

    def api_body(self) -> dict[str, Any]:
        return {"errors": [error.as_dict() for error in self.errors]}


@dataclass(frozen=True)
class IngestResult:
    created: int
    duplicates: int
    conflicts: list[str] = field(default_factory=list)


class ValidRecord(NamedTuple):
    """A record that passed validation: the new generation's columns, by name."""

    gateway_id: int
    external_id: str
    api_key_id: int
    team_id: int
    model: str
    created_at: datetime
    tokens_prompt: int
    tokens_completion: int
    tokens_cached: int
    tokens_reasoning: int
    cost: Decimal
    is_byok: bool
    cancelled: bool
    streamed: bool
    next_attempt_at: datetime

    @property
    def identity(self) -> tuple[int, str]:
        return (self.gateway_id, self.external_id)

    @property
    def content(self) -> tuple:
        """What must match a stored generation for this record to be a duplicate of it."""
        return content_of(self)


# The stored columns compared with ValidRecord.content, in the same order.
CONTENT_COLUMNS = ("api_key_id", "team_id", *REPORTED_FIELDS)
content_of = attrgetter(*CONTENT_COLUMNS)
