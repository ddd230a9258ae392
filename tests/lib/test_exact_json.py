"""lib.exact_json reads every number exactly, from text or bytes, and refuses what JSON does not allow."""

import json
from decimal import Decimal

import pytest

from lib.exact_json import dumps_exact, loads_exact


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_bytes_in_any_json_encoding_read_as_the_text_does(encoding):
    text = '{"total_cost": 0.00000000000000001, "model": "modèle", "tokens": 12}'
    parsed = loads_exact(text.encode(encoding))
    assert parsed == loads_exact(text) == {"total_cost": Decimal("1E-17"), "model": "modèle", "tokens": 12}
    assert isinstance(parsed["tokens"], int)


@pytest.mark.parametrize("text", ['{"cost": NaN}', "[Infinity]", "[-Infinity]", "\ufeff{}", "{", ""])
def test_what_json_does_not_allow_is_refused_as_value_error(text):
    with pytest.raises(ValueError):
        loads_exact(text)


def test_a_decimal_goes_out_and_back_with_every_digit():
    value = {"amount": Decimal("123456789012345678901.000000000000000001"), "items": [Decimal("0E-12")]}
    assert loads_exact(dumps_exact(value)) == value
    assert json.loads(dumps_exact(value))["items"] == [0.0]  # still JSON any reader accepts
