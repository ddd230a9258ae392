"""Recording the generations a team's services post: all-or-nothing, idempotent on (gateway, id).

A request is validated whole, in plain Python over the parsed list (fast enough for 10,000
records), before anything is written: one bad record rejects the request, with every error by
index and field. Then, in one transaction, the records are inserted with ON CONFLICT DO NOTHING
on (gateway, external id), returning the rows that were really created; only those are added to
the daily roll-ups. A record whose (gateway, id) was already stored is a duplicate when its
content is the same and a conflict when it differs; either way the stored row is kept.
"""

from collections.abc import Collection

from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from generations.ingest.records import IngestRejected, IngestResult, RecordError, ValidRecord
from generations.ingest.validation import records_from_body, validate_records
from generations.ingest.writing import insert_new, stored_content
from generations.rollups import SpendFacts
from generations.services import generations_recorded

__all__ = ["IngestRejected", "IngestResult", "RecordError", "generations_ingest", "records_from_body"]


def generations_ingest(
    *, records: list, team: Team | None = None, teams: Collection[Team] | None = None
) -> IngestResult:
    """Record generations for `team` (a token's team) or any of `teams` (a signed-in user's).

    Every record's api key must belong to one of those teams and to the named gateway; the
    generation belongs to the key's team. Raises IngestRejected, writing nothing, when any
    record is invalid. Safe to repeat and to run concurrently: a (gateway, id) is stored once,
    and only the request that created a row counts it as created.
    """
    allowed = [team] if team is not None else list(teams or [])
    now = timezone.now()
    valid = validate_records(records, team_ids={allowed_team.pk for allowed_team in allowed}, now=now)
    first_of_each = _first_of_each_identity(valid)
    with transaction.atomic():
        created = insert_new(sorted(first_of_each, key=lambda record: record.identity))
        generations_recorded(SpendFacts.of_new(record) for record in first_of_each if record.identity in created)
        posted_again = len(valid) > len(first_of_each)
        stored = stored_content(
            {record.identity for record in valid if posted_again or record.identity not in created}
        )
    # The first record of an identity that this call created is the one that created it; any
    # other record is compared with what is stored (which, within one request, is that first).
    counted_as_created: set[tuple[int, str]] = set()
    duplicates = 0
    conflicts: dict[str, None] = {}
    for record in valid:
        if record.identity in created and record.identity not in counted_as_created:
            counted_as_created.add(record.identity)
        elif stored[record.identity] == record.content:
            duplicates += 1
        else:
            conflicts[record.external_id] = None
    return IngestResult(created=len(created), duplicates=duplicates, conflicts=list(conflicts))


def _first_of_each_identity(records: list[ValidRecord]) -> list[ValidRecord]:
    seen: set[tuple[int, str]] = set()
    first = []
    for record in records:
        if record.identity not in seen:
            seen.add(record.identity)
            first.append(record)
    return first
