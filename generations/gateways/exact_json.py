"""JSON with exact numbers: every non-integer number is a Decimal, in and out.

Gateways send amounts such as 0.00000000000000001; float would round them. Reading uses
`parse_float=Decimal`; writing prints a Decimal with all its digits, never in exponent form.
"""

import json
from decimal import Decimal
from typing import Any


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON keeping every number exact. Raises ValueError (or RecursionError) on bad input."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


def dumps_exact(value: Any) -> str:
    """Serialise JSON-like data whose numbers may be Decimal, writing each Decimal's digits as they are.

    Floats are written as json.dumps would; amounts should never be floats in the first place.
    """
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, parts: list[str]) -> None:
    if isinstance(value, dict):
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                parts.append(", ")
            parts.append(json.dumps(str(key)))
            parts.append(": ")
            _write(item, parts)
        parts.append("}")
    elif isinstance(value, (list, tuple)):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(", ")
            _write(item, parts)
        parts.append("]")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        parts.append(format(value, "f"))
    else:
        parts.append(json.dumps(value))
