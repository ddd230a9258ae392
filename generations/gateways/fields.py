"""Typed reads of one field of a gateway's JSON object. A wrong type is BadPayload, never a crash.

Money comes in as Decimal (bodies are parsed with parse_float=Decimal); integers and numeric
strings are accepted and converted exactly. Booleans are refused where numbers belong, since
Python would otherwise take True for 1.
"""

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from lib.precision import stored_amount
from generations.gateways.base import BadPayload

Fields = dict[str, Any]


def _value(fields: Fields, name: str, *, required: bool) -> Any:
    value = fields.get(name)
    if value is None and required:
        raise BadPayload(f"'{name}' is missing or null")
    return value


def _wrong(name: str, expected: str, value: Any) -> BadPayload:
    return BadPayload(f"'{name}' should be {expected}, got {type(value).__name__} {str(value)[:60]!r}")


def read_string(fields: Fields, name: str, *, required: bool = False) -> str:
    value = _value(fields, name, required=required)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _wrong(name, "a string", value)
    return storable_text(value)


def storable_text(text: str) -> str:
    """The text with what no database column can hold replaced by U+FFFD, as undecodable bytes
    already are: NUL (PostgreSQL refuses it) and lone surrogates (valid JSON escapes, no UTF-8)."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")


def read_decimal(fields: Fields, name: str, *, required: bool = False) -> Decimal | None:
    value = _value(fields, name, required=required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise _wrong(name, "a number", value)
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation as error:
        raise _wrong(name, "a number", value) from error
    if not amount.is_finite():
        raise _wrong(name, "a finite number", value)
    return amount


def read_money(fields: Fields, name: str, *, required: bool = False) -> Decimal | None:
    """An amount of money, rounded once, half to even, to the 18 places amounts are stored with
    (lib/precision.py): what the rules compare is what is stored."""
    amount = read_decimal(fields, name, required=required)
    return None if amount is None else stored_amount(amount)


def read_count(fields: Fields, name: str, *, required: bool = False) -> int | None:
    """A non-negative whole number (token counts); 12.0 is accepted, 12.5 is not."""
    amount = read_decimal(fields, name, required=required)
    if amount is None:
        return None
    if amount != amount.to_integral_value() or amount < 0:
        raise _wrong(name, "a whole number of at least 0", amount)
    return int(amount)


def read_milliseconds(fields: Fields, name: str, *, scale: Decimal = Decimal(1)) -> int | None:
    """A duration rounded to whole milliseconds; `scale` converts other units to milliseconds."""
    amount = read_decimal(fields, name)
    if amount is None:
        return None
    if amount < 0:
        raise _wrong(name, "a duration of at least 0", amount)
    return int((amount * scale).to_integral_value())


def read_bool(fields: Fields, name: str, *, required: bool = False) -> bool | None:
    value = _value(fields, name, required=required)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _wrong(name, "true or false", value)
    return value


def read_datetime(fields: Fields, name: str, *, required: bool = False) -> datetime | None:
    """An ISO 8601 string or a Unix timestamp in seconds; naive times are taken as UTC."""
    value = _value(fields, name, required=required)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as error:
            raise _wrong(name, "an ISO 8601 time", value) from error
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    seconds = read_decimal(fields, name)
    try:
        return datetime.fromtimestamp(float(seconds), tz=timezone.utc)
    except (OverflowError, OSError, ValueError) as error:
        raise _wrong(name, "a Unix time", value) from error


def read_object(fields: Fields, name: str, *, required: bool = False) -> Fields:
    value = _value(fields, name, required=required)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong(name, "an object", value)
    return value


def scalars(fields: Fields, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields that are present and simple (text, numbers, flags), for display."""
    return {
        name: fields[name]
        for name in names
        if fields.get(name) is not None and isinstance(fields[name], (str, int, Decimal, bool))
    }
