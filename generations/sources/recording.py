"""Handing translated records to the one ingest path, skipping (not refusing) what it rejects."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from accounts.models import Team
from generations.ingest import IngestRejected, generations_ingest
from generations.ingest.validation import MAX_RECORDS
from generations.sources.keys import Skip

MAX_PAYLOADS = MAX_RECORDS
# Reasons quote a little of what was sent (a provider's name): the answer lists the commonest.
MAX_REASONS_LISTED = 100


class NotTheFormat(Exception):
    """The body is not the source's format at all: the request is refused (400), nothing written."""


class TooManyPayloads(Exception):
    """More payloads than one request may carry (413): the sender should send smaller batches."""


@dataclass
class SourceOutcome:
    """What became of one request's payloads: created, already stored, conflicting, or skipped."""

    received: int = 0
    created: int = 0
    duplicates: int = 0
    conflicts: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "skipped": self.skipped_count,
            "skipped_reasons": dict(self.skipped.most_common(MAX_REASONS_LISTED)),
        }

    def summary(self) -> str:
        """One line naming each skip reason with its count, for OTLP's partial_success."""
        return "; ".join(f"{reason} ({count})" for reason, count in self.skipped.most_common(MAX_REASONS_LISTED))


def source_records_ingest(*, translated: list[dict | Skip], team: Team) -> SourceOutcome:
    """Record the translated records of one request for `team`, counting the Skips.

    A record that ingest rejects (a negative cost, a revoked key, an id too long...) is skipped
    with ingest's own message, and the others are posted again: what is written is still written
    all or nothing, in one ingest call, and re-sending the same request changes nothing.
    """
    outcome = SourceOutcome(received=len(translated))
    records: list[dict] = []
    for item in translated:
        if isinstance(item, Skip):
            outcome.skipped[item.reason] += 1
        else:
            records.append(item)
    while records:
        try:
            result = generations_ingest(records=records, team=team)
        except IngestRejected as rejected:
            whole_request = [error for error in rejected.errors if error.index is None]
            if whole_request:  # nothing a source translates should cause it; refuse rather than guess
                raise NotTheFormat("; ".join(error.message for error in whole_request)) from rejected
            refused: dict[int, str] = {}
            for error in rejected.errors:
                refused.setdefault(error.index, f"{error.field}: {error.message}" if error.field else error.message)
            for reason in refused.values():
                outcome.skipped[f"refused by ingest: {reason}"] += 1
            records = [record for index, record in enumerate(records) if index not in refused]
            continue
        outcome.created, outcome.duplicates, outcome.conflicts = result.created, result.duplicates, result.conflicts
        break
    return outcome
