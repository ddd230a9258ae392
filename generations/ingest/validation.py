"""Checking a posted request, whole and record by record, before anything is written.

Every problem is reported by index and field; one bad record rejects the request.
"""

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection

from accounts.models import ApiKey, Gateway
from generations.ingest.records import IngestRejected, RecordError, ValidRecord
from generations.scheduling import first_lookup_at
from lib.precision import MONEY_INTEGER_DIGITS, sqlite_storable_amount, stored_amount

MAX_RECORDS = 10_000
# A generation cannot be from the future; this much clock skew between machines is forgiven.
ALLOWED_CLOCK_SKEW = timedelta(minutes=5)
COST_LIMIT = Decimal(10) ** MONEY_INTEGER_DIGITS  # numeric(38, 18): twenty digits before the point
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


class _Invalid(Exception):
    pass


def validate_records(records: list, *, team_ids: set[int], now: datetime) -> list[ValidRecord]:
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
        next_attempt_at=first_lookup_at(created_at=created_at, now=now),
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
    """Any finite, non-negative decimal, as a JSON number or a string, with any number of places;
    rounded once, half to even, to the 18 places costs are stored with (lib/precision.py)."""
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
    return storable_cost(value)


def storable_cost(value: Decimal) -> Decimal:
    """The cost exactly as the database will give it back, so that a re-post of the same record
    compares equal to the stored row (a duplicate, never a conflict). PostgreSQL keeps all 18
    places; SQLite, which serves only the demo, keeps 15 significant digits."""
    if connection.vendor == "sqlite":
        return sqlite_storable_amount(value)
    return stored_amount(value)
