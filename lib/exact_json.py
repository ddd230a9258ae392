"""JSON with exact numbers: every non-integer number is a Decimal, in and out.

Gateways send amounts such as 0.00000000000000001; float would round them. Reading uses
`parse_float=Decimal`; writing prints a Decimal with all its digits, never in exponent form.
"""

import json
from decimal import Decimal
from typing import Any


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


# One decoder for every call: json.loads with options builds a new decoder and scanner each time,
# which cost more than parsing a gateway's answer.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON keeping every number exact. Raises ValueError (or RecursionError) on bad input."""
    if isinstance(text, bytes | bytearray):
        text = text.decode(json.detect_encoding(text), "surrogatepass")  # as json.loads reads bytes
    return _DECODER.decode(text)


def dumps_exact(value: Any, *, indent: int | None = None, ensure_ascii: bool = True) -> str:
    """Serialise JSON-like data whose numbers may be Decimal, writing each Decimal's digits as they are.

    With `indent`, one item a line (for reading). Floats are written as json.dumps would; amounts
    should never be floats in the first place.
    """
    parts: list[str] = []
    _write(value, parts, indent=indent, ensure_ascii=ensure_ascii, depth=0)
    return "".join(parts)


def _write(value: Any, parts: list[str], *, indent: int | None, ensure_ascii: bool, depth: int) -> None:
    if isinstance(value, (dict, list, tuple)):
        is_object = isinstance(value, dict)
        opening, closing = ("{", "}") if is_object else ("[", "]")
        items = list(value.items()) if is_object else list(value)
        if indent is None:
            separator, line_start, line_end = ", ", "", ""
        else:
            separator, line_start, line_end = ",", "\n" + " " * indent * (depth + 1), "\n" + " " * indent * depth
        parts.append(opening)
        for index, item in enumerate(items):
            if index:
                parts.append(separator)
            parts.append(line_start)
            if is_object:
                key, item = item
                parts.append(json.dumps(str(key), ensure_ascii=ensure_ascii))
                parts.append(": ")
            _write(item, parts, indent=indent, ensure_ascii=ensure_ascii, depth=depth + 1)
        if items:
            parts.append(line_end)
        parts.append(closing)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        parts.append(format(value, "f"))
    else:
        parts.append(json.dumps(value, ensure_ascii=ensure_ascii))
