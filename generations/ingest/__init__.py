"""Recording the generations a team's services post: all-or-nothing, idempotent on (gateway, id).

A request is validated whole, in plain Python over the parsed list (fast enough for 10,000
records), before anything is written: one bad record rejects the request, with every error by
index and field. Then, in one transaction, the records not stored yet under their (gateway,
external id) are inserted (writing.py: COPY on PostgreSQL, where uniqueness lives in the identity
table beside the monthly partitions; ON CONFLICT DO NOTHING on SQLite), and the rows that were
really created are the only ones added to the daily roll-ups. A record whose (gateway, id) was already stored is a duplicate when its
content is the same and a conflict when it differs; either way the stored row is kept.
"""

from collections.abc import Collection

from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from generations.ingest.month_limit import refuse_months_over_limit
from generations.ingest.records import IngestRejected, IngestResult, RecordError, ValidRecord
from generations.ingest.validation import records_from_body, validate_records
from generations.ingest.writing import insert_new, stored_content
from generations.rollups import SpendFacts
from generations.services import generations_recorded
from operations import events

__all__ = ["IngestRejected", "IngestResult", "RecordError", "generations_ingest", "records_from_body"]


def generations_ingest(
    *, records: list, team: Team | None = None, teams: Collection[Team] | None = None, source: str = "api"
) -> IngestResult:
    """Record generations for `team` (a token's team) or any of `teams` (a signed-in user's).

    Every record's api key must belong to one of those teams and to the named gateway; the
    generation belongs to the key's team. Raises IngestRejected, writing nothing, when any
    record is invalid. Safe to repeat and to run concurrently: a (gateway, id) is stored once,
    and only the request that created a row counts it as created.
    """
    allowed = [team] if team is not None else list(teams or [])
    now = timezone.now()
    try:
        valid = validate_records(records, team_ids={allowed_team.pk for allowed_team in allowed}, now=now)
    except IngestRejected:
        events.count(events.INGEST_REJECTIONS, source=source)
        raise
    first_of_each = _first_of_each_identity(valid)
    with transaction.atomic():
        created = insert_new(sorted(first_of_each, key=lambda record: record.identity))
        generations_recorded(SpendFacts.of_new(record) for record in first_of_each if record.identity in created)
        refuse_months_over_limit([record for record in first_of_each if record.identity in created])
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
    _count_ingested(source=source, created=len(created), duplicates=duplicates, conflicts=len(conflicts))
    return IngestResult(created=len(created), duplicates=duplicates, conflicts=list(conflicts))


def _count_ingested(*, source: str, created: int, duplicates: int, conflicts: int) -> None:
    tally = events.Tally()
    tally.count(events.INGEST_RECORDS, created, source=source, result="created")
    tally.count(events.INGEST_RECORDS, duplicates, source=source, result="duplicate")
    tally.count(events.INGEST_RECORDS, conflicts, source=source, result="conflict")
    tally.flush()


def _first_of_each_identity(records: list[ValidRecord]) -> list[ValidRecord]:
    seen: set[tuple[int, str]] = set()
    first = []
    for record in records:
        if record.identity not in seen:
            seen.add(record.identity)
            first.append(record)
    return first
