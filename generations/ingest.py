"""Recording the generations a team's services post: all-or-nothing, idempotent on (gateway, id).

A request is validated whole, in plain Python over the parsed list (fast enough for 10,000
records), before anything is written: one bad record rejects the request, with every error by
index and field. Then, in one transaction, the records are inserted with ON CONFLICT DO NOTHING
on (gateway, external id), returning the rows that were really created; only those are added to
the daily roll-ups. A record whose (gateway, id) was already stored is a duplicate when its
content is the same and a conflict when it differs; either way the stored row is kept.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ApiKey, Gateway, Team
from generations.models import Generation, GenerationState
from generations.rollups import SpendFacts, rollup_generations_added
from operations import events

MAX_RECORDS = 10_000
# Gateways answer 404 for a while after a call completes; the first lookup waits a little.
FIRST_LOOKUP_DELAY = timedelta(seconds=5)
# A generation cannot be from the future; this much clock skew between machines is forgiven.
ALLOWED_CLOCK_SKEW = timedelta(minutes=5)
COST_PLACES = 12
COST_LIMIT = Decimal(10) ** 12  # numeric(24, 12): twelve digits before the point
TOKENS_LIMIT = 2**31 - 1  # PostgreSQL integer
EXTERNAL_ID_MAX_LENGTH = 255
MODEL_MAX_LENGTH = 200
SLUG_MAX_LENGTH = 64
MAX_REPORTED_ERRORS = 1_000

REQUIRED_FIELDS = (
    "gateway",
    "id",
    "api_key",
    "model",
    "created_at",
    "tokens_prompt",
    "tokens_completion",
    "cost",
)
OPTIONAL_TOKEN_FIELDS = ("tokens_cached", "tokens_reasoning")
FLAG_FIELDS = ("is_byok", "cancelled", "streamed")
KNOWN_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_TOKEN_FIELDS + FLAG_FIELDS)
COST_PATTERN = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class RecordError:
    """What is wrong with one record (`index`) or with the request as a whole (index None)."""

    index: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class IngestRejected(Exception):
    """The request was invalid; nothing was written."""

    def __init__(self, errors: list[RecordError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


@dataclass(frozen=True)
class IngestResult:
    created: int
    duplicates: int
    conflicts: list[str] = field(default_factory=list)


class ValidRecord(NamedTuple):
    """A record that passed validation, in the column order of the insert."""

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

    # What every new generation starts as (so that SpendFacts.of reads a record as it would
    # read the stored row).
    state = GenerationState.PENDING
    charged_cost = None

    @property
    def identity(self) -> tuple[int, str]:
        return (self.gateway_id, self.external_id)

    @property
    def content(self) -> tuple:
        """What must match a stored generation for this record to be a duplicate of it."""
        return self[2:14]


# The stored columns compared with ValidRecord.content, in the same order.
CONTENT_COLUMNS = ValidRecord._fields[2:14]


def records_from_body(body: Any) -> list:
    """The list of records in a request body `{"generations": [...]}`, or IngestRejected."""
    if not isinstance(body, dict):
        raise IngestRejected([RecordError(None, None, 'The body must be an object: {"generations": [...]}.')])
    errors = [
        RecordError(None, name, 'unknown field: the body has only "generations"')
        for name in sorted(body.keys() - {"generations"})
    ]
    records = body.get("generations")
    if records is None:
        errors.append(RecordError(None, "generations", "required: a list of generation records"))
    elif not isinstance(records, list):
        errors.append(RecordError(None, "generations", "must be a list of generation records"))
    elif len(records) > MAX_RECORDS:
        errors.append(
            RecordError(None, "generations", f"at most {MAX_RECORDS} records a request; split this one")
        )
    if errors:
        raise IngestRejected(errors)
    return records


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
        valid = _validate(records, team_ids={allowed_team.pk for allowed_team in allowed}, now=now)
    except IngestRejected:
        events.count(events.INGEST_REJECTIONS, source=source)
        raise
    first_of_each = _first_of_each_identity(valid)
    with transaction.atomic():
        created = _insert(sorted(first_of_each, key=lambda record: record.identity))
        rollup_generations_added(SpendFacts.of(record) for record in first_of_each if record.identity in created)
        posted_again = len(valid) > len(first_of_each)
        stored = _stored_content(
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
    tally = events.Tally()
    tally.count(events.INGEST_RECORDS, len(created), source=source, result="created")
    tally.count(events.INGEST_RECORDS, duplicates, source=source, result="duplicate")
    tally.count(events.INGEST_RECORDS, len(conflicts), source=source, result="conflict")
    tally.flush()
    return IngestResult(created=len(created), duplicates=duplicates, conflicts=list(conflicts))


def _first_of_each_identity(records: list[ValidRecord]) -> list[ValidRecord]:
    seen: set[tuple[int, str]] = set()
    first = []
    for record in records:
        if record.identity not in seen:
            seen.add(record.identity)
            first.append(record)
    return first


# Validation ------------------------------------------------------------------------------------


class _Invalid(Exception):
    pass


def _validate(records: list, *, team_ids: set[int], now: datetime) -> list[ValidRecord]:
    gateways = {gateway.slug: gateway for gateway in Gateway.objects.only("id", "slug")}
    keys = _keys_named_in(records, team_ids)
    # (field, parser, value when absent or null: None means the field is required)
    rules = (
        ("gateway", partial(_slug_in, known=gateways, unknown_message="unknown gateway"), None),
        ("id", partial(_text, max_length=EXTERNAL_ID_MAX_LENGTH), None),
        ("api_key", partial(_slug_in, known=keys, unknown_message="unknown api_key"), None),
        ("model", partial(_text, max_length=MODEL_MAX_LENGTH), None),
        ("created_at", partial(_created_at, latest=now + ALLOWED_CLOCK_SKEW), None),
        ("tokens_prompt", _tokens, None),
        ("tokens_completion", _tokens, None),
        ("cost", _cost, None),
        *((name, _tokens, 0) for name in OPTIONAL_TOKEN_FIELDS),
        *((name, _flag, False) for name in FLAG_FIELDS),
    )
    errors: list[RecordError] = []
    valid: list[ValidRecord] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            errors.append(RecordError(index, None, "must be an object with the generation's fields"))
            continue
        result = _validate_record(index, record, rules, now, errors)
        if result is not None:
            valid.append(result)
        if len(errors) > MAX_REPORTED_ERRORS:
            break
    if errors:
        raise IngestRejected(errors[:MAX_REPORTED_ERRORS])
    return valid


def _keys_named_in(records: list, team_ids: set[int]) -> dict[str, ApiKey]:
    slugs = {
        record["api_key"]
        for record in records
        if isinstance(record, dict)
        and isinstance(record.get("api_key"), str)
        and _is_clean_text(record["api_key"], SLUG_MAX_LENGTH)
    }
    if not slugs or not team_ids:
        return {}
    keys = ApiKey.objects.filter(team_id__in=team_ids, slug__in=slugs).only(
        "id", "slug", "team_id", "gateway_id", "revoked_at"
    )
    return {key.slug: key for key in keys}


def _validate_record(
    index: int, record: dict, rules: tuple, now: datetime, errors: list[RecordError]
) -> ValidRecord | None:
    """The record as a ValidRecord, or None with what is wrong with it added to `errors`."""
    before = len(errors)
    for name in sorted(record.keys() - KNOWN_FIELDS):
        errors.append(RecordError(index, str(name)[:100], "unknown field"))
    values: dict[str, Any] = {}
    for name, parse, default in rules:
        value = record.get(name)
        if value is None and default is not None:
            values[name] = default
            continue
        try:
            values[name] = parse(record[name])
        except KeyError:
            errors.append(RecordError(index, name, "required"))
        except _Invalid as problem:
            errors.append(RecordError(index, name, str(problem)))
    gateway, api_key, created_at = values.get("gateway"), values.get("api_key"), values.get("created_at")
    if gateway is not None and api_key is not None and api_key.gateway_id != gateway.pk:
        errors.append(RecordError(index, "api_key", f"is not a key of gateway {gateway.slug!r}"))
        return None
    if api_key is not None and created_at is not None and api_key.revoked_at and created_at >= api_key.revoked_at:
        errors.append(RecordError(index, "api_key", "was revoked before this generation was created"))
        return None
    if len(errors) != before:
        return None
    return ValidRecord(
        gateway_id=gateway.pk,
        external_id=values["id"],
        api_key_id=api_key.pk,
        team_id=api_key.team_id,
        model=values["model"],
        created_at=created_at,
        tokens_prompt=values["tokens_prompt"],
        tokens_completion=values["tokens_completion"],
        tokens_cached=values["tokens_cached"],
        tokens_reasoning=values["tokens_reasoning"],
        cost=values["cost"],
        is_byok=values["is_byok"],
        cancelled=values["cancelled"],
        streamed=values["streamed"],
        next_attempt_at=max(created_at + FIRST_LOOKUP_DELAY, now),
    )


def _is_clean_text(value: str, max_length: int) -> bool:
    if not value or len(value) > max_length or "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, which no database stores
        return False
    return True


def _text(value: Any, max_length: int) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    if not _is_clean_text(value, max_length):
        raise _Invalid(f"must be 1 to {max_length} characters of text, without NUL")
    return value


def _slug_in(value: Any, known: dict, unknown_message: str):
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    found = known.get(value)
    if found is None:
        raise _Invalid(unknown_message)
    return found


def _created_at(value: Any, latest: datetime) -> datetime:
    if not isinstance(value, str):
        raise _Invalid("must be an ISO 8601 date and time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid("must be an ISO 8601 date and time, e.g. 2026-01-31T12:00:00Z") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _Invalid("must include a UTC offset, e.g. 2026-01-31T12:00:00Z or +02:00")
    try:
        in_utc = parsed.astimezone(dt_timezone.utc)
    except OverflowError:
        raise _Invalid("is out of range") from None
    if in_utc > latest:
        raise _Invalid("is in the future")
    return in_utc


def _tokens(value: Any) -> int:
    if type(value) is not int:  # not bool, not 1.0
        raise _Invalid("must be a whole number")
    if value < 0:
        raise _Invalid("must not be negative")
    if value > TOKENS_LIMIT:
        raise _Invalid(f"must be at most {TOKENS_LIMIT}")
    return value


def _flag(value: Any) -> bool:
    if type(value) is not bool:
        raise _Invalid("must be true or false")
    return value


def _cost(value: Any) -> Decimal:
    if type(value) is int:
        value = Decimal(value)
    elif isinstance(value, str):
        if not COST_PATTERN.fullmatch(value):
            raise _Invalid('must be a decimal number, as a string ("0.0012") or a JSON number')
        value = Decimal(value)
    elif not isinstance(value, Decimal):
        raise _Invalid('must be a decimal number, as a string ("0.0012") or a JSON number')
    if not value.is_finite():
        raise _Invalid("must be a finite number")
    if value < 0:
        raise _Invalid("must not be negative")
    if value >= COST_LIMIT:
        raise _Invalid(f"must be less than {COST_LIMIT}")
    if value.as_tuple().exponent < -COST_PLACES and _decimal_places(value) > COST_PLACES:
        raise _Invalid(f"has more than {COST_PLACES} decimal places; round it to {COST_PLACES}")
    return value


def _decimal_places(value: Decimal) -> int:
    """Places after the point that carry a digit other than a trailing zero."""
    _, digits, exponent = value.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))


# Writing ---------------------------------------------------------------------------------------

INSERT_COLUMNS = ValidRecord._fields
POSTGRESQL_TYPES = (
    "bigint",
    "text",
    "bigint",
    "bigint",
    "text",
    "timestamptz",
    "integer",
    "integer",
    "integer",
    "integer",
    "numeric",
    "boolean",
    "boolean",
    "boolean",
    "timestamptz",
)
SQLITE_ROWS_PER_STATEMENT = 1_000  # 17 parameters a row, within SQLite's 32,766


def _insert(records: list[ValidRecord]) -> set[tuple[int, str]]:
    """Insert what is not stored yet; the identities of the rows this call created.

    Records are sorted by identity so that concurrent requests take row locks in the same
    order and cannot deadlock.
    """
    if not records:
        return set()
    table = connection.ops.quote_name(Generation._meta.db_table)
    columns = ", ".join(INSERT_COLUMNS) + ", state, attempts"
    tail = "ON CONFLICT (gateway_id, external_id) DO NOTHING RETURNING gateway_id, external_id"
    if connection.vendor == "postgresql":
        return _insert_postgresql(records, table, columns, tail)
    return _insert_rows(records, table, columns, tail)


def _insert_postgresql(records: list[ValidRecord], table: str, columns: str, tail: str) -> set[tuple[int, str]]:
    """COPY for the usual case, where none of the records is stored yet: it is several times
    faster than INSERT ... ON CONFLICT. The records already stored are found first (one index
    probe each); if another request stores one of the rest meanwhile, the COPY fails on the
    unique constraint and is undone (savepoint), and INSERT ... ON CONFLICT DO NOTHING takes
    over, so the outcome is the same, only slower."""
    import psycopg  # only present, and only needed, with PostgreSQL

    connection.ensure_connection()
    # Django's cursors bind client-side (quoting every value as text); this one, on the same
    # connection and so in the same transaction, binds server-side, in binary.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"SELECT gateway_id, external_id FROM {table} "
            "JOIN unnest(%s::bigint[], %s::text[]) AS posted (gateway_id, external_id) USING (gateway_id, external_id)",
            [[record.gateway_id for record in records], [record.external_id for record in records]],
            binary=True,
        )
        stored = set(cursor.fetchall())
        new = [record for record in records if record.identity not in stored]
        if not new:
            return set()
        try:
            with transaction.atomic():
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types([*POSTGRESQL_TYPES, "text", "smallint"])
                    for record in new:
                        copy.write_row((*record, GenerationState.PENDING.value, 0))
            return {record.identity for record in new}
        except psycopg.errors.UniqueViolation:
            pass
        arrays = ", ".join(f"%s::{sql_type}[]" for sql_type in POSTGRESQL_TYPES)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT *, %s, 0 FROM unnest({arrays}) {tail}",
            [GenerationState.PENDING.value, *(list(column) for column in zip(*new))],
            binary=True,
        )
        return set(cursor.fetchall())


def _insert_rows(records: list[ValidRecord], table: str, columns: str, tail: str) -> set[tuple[int, str]]:
    """Multi-row VALUES statements, for SQLite."""
    adapt_datetime = connection.ops.adapt_datetimefield_value
    placeholder = "(" + ", ".join(["%s"] * (len(INSERT_COLUMNS) + 2)) + ")"
    created: set[tuple[int, str]] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(records), SQLITE_ROWS_PER_STATEMENT):
            chunk = records[start : start + SQLITE_ROWS_PER_STATEMENT]
            params: list = []
            for record in chunk:
                params.extend(record[:5])
                params.append(adapt_datetime(record.created_at))
                params.extend(record[6:10])
                params.append(str(record.cost))
                params.extend(record[11:14])
                params.extend((adapt_datetime(record.next_attempt_at), GenerationState.PENDING, 0))
            sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholder] * len(chunk))} {tail}"
            cursor.execute(sql, params)
            created.update((gateway_id, external_id) for gateway_id, external_id in cursor.fetchall())
    return created


def _stored_content(identities: set[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
    """The stored content of generations by identity, to compare with what was posted again."""
    by_gateway: dict[int, list[str]] = {}
    for gateway_id, external_id in identities:
        by_gateway.setdefault(gateway_id, []).append(external_id)
    stored = {}
    for gateway_id, external_ids in by_gateway.items():
        for start in range(0, len(external_ids), 2_000):
            rows = Generation.objects.filter(
                gateway_id=gateway_id, external_id__in=external_ids[start : start + 2_000]
            ).values_list("gateway_id", "external_id", *CONTENT_COLUMNS)
            stored.update({(row[0], row[1]): tuple(row[2:]) for row in rows})
    return stored
