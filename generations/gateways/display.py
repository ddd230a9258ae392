"""Fields a gateway sends for display only (latency, media counts, throughput...).

Such a field out of range or of the wrong type (a negative `latency`, a negative media count)
never makes a record unreadable: it is set aside, kept in the raw body, and named in the
record's extra under `set_aside`. Only fields the rules need can make a record unreadable.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from generations.gateways.base import BadPayload
from generations.gateways.fields import Fields

T = TypeVar("T")


def display(reader: Callable[..., T], fields: Fields, name: str, set_aside: list[str], **options: Any) -> T | None:
    """`reader(fields, name)`, or None (and `name` added to `set_aside`) if the value is unsound."""
    try:
        return reader(fields, name, **options)
    except BadPayload:
        set_aside.append(name)
        return None


def shown(fields: Fields, set_aside: list[str]) -> Fields:
    """The fields without those set aside."""
    return {name: value for name, value in fields.items() if name not in set_aside} if set_aside else fields


def set_aside_note(set_aside: list[str]) -> dict[str, str]:
    return {"set_aside": ", ".join(set_aside)} if set_aside else {}
