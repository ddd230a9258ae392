"""Importing gateway list prices from CSV.

The file has the header `gateway,model,prompt,completion,cache_read,cache_write,valid_from`:
a gateway slug, a model, USD per million tokens (cache prices may be empty), and the date from
which the price holds. The whole file is checked before anything is written, and written in one
transaction: a bad row rejects the file, naming its line. A row for a (gateway, model, date) that
already has a price replaces it, so importing the same file twice changes nothing.

An imported price overrides the gateway's own list and the catalog for that gateway and model
(billing/price_book.py).
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction

from accounts.models import Gateway
from billing.models import ModelPrice, PriceSource
from lib.errors import DomainError
from lib.precision import MONEY_INTEGER_DIGITS, stored_amount

PRICE_COLUMNS = ("gateway", "model", "prompt", "completion", "cache_read", "cache_write", "valid_from")
PRICE_FIELDS = ("prompt", "completion", "cache_read", "cache_write")
OPTIONAL_PRICE_FIELDS = ("cache_read", "cache_write")
MAX_INTEGER_DIGITS = MONEY_INTEGER_DIGITS
MODEL_NAME_LENGTH = ModelPrice._meta.get_field("model").max_length


class PriceImportError(DomainError):
    """A problem with one line of a price file; nothing from the file was imported."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class PriceImportResult:
    created: int
    updated: int

    @property
    def total(self) -> int:
        return self.created + self.updated


def prices_import(*, lines: Iterable[str]) -> PriceImportResult:
    """Import every price in a CSV file (given as its lines), or none of them."""
    prices = _parse(lines)
    keys = {(price.gateway_id, price.model, price.valid_from) for price in prices}
    with transaction.atomic():
        existing = {
            key
            for key in ModelPrice.objects.filter(
                gateway__in={price.gateway_id for price in prices},
                model__in={price.model for price in prices},
                source=PriceSource.IMPORT,
            ).values_list("gateway_id", "model", "valid_from")
            if key in keys
        }
        ModelPrice.objects.bulk_create(
            prices,
            update_conflicts=True,
            unique_fields=["gateway", "model", "source", "valid_from"],
            update_fields=list(PRICE_FIELDS),
        )
    return PriceImportResult(created=len(keys) - len(existing), updated=len(existing))


def _parse(lines: Iterable[str]) -> list[ModelPrice]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or tuple(column.strip() for column in header) != PRICE_COLUMNS:
        raise PriceImportError(1, f"the header must be exactly {','.join(PRICE_COLUMNS)}")
    gateways = {gateway.slug: gateway for gateway in Gateway.objects.all()}
    prices: list[ModelPrice] = []
    first_line_of: dict[tuple[int, str, date], int] = {}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        price = _price_from_row(row, line=line, gateways=gateways)
        key = (price.gateway_id, price.model, price.valid_from)
        if key in first_line_of:
            raise PriceImportError(
                line, f"repeats line {first_line_of[key]} (same gateway, model and valid_from)"
            )
        first_line_of[key] = line
        prices.append(price)
    if not prices:
        raise PriceImportError(reader.line_num, "the file has a header but no prices")
    return prices


def _price_from_row(row: list[str], *, line: int, gateways: dict[str, Gateway]) -> ModelPrice:
    if len(row) != len(PRICE_COLUMNS):
        raise PriceImportError(line, f"expected {len(PRICE_COLUMNS)} columns, found {len(row)}")
    cells = dict(zip(PRICE_COLUMNS, (cell.strip() for cell in row), strict=True))
    gateway = gateways.get(cells["gateway"])
    if gateway is None:
        raise PriceImportError(line, f"unknown gateway {cells['gateway']!r}")
    model = cells["model"]
    if not model:
        raise PriceImportError(line, "the model is empty")
    if len(model) > MODEL_NAME_LENGTH:
        raise PriceImportError(line, f"the model name is longer than {MODEL_NAME_LENGTH} characters")
    amounts = {field: _amount(cells[field], column=field, line=line) for field in PRICE_FIELDS}
    valid_from = _date(cells["valid_from"], line=line)
    return ModelPrice(gateway=gateway, model=model, source=PriceSource.IMPORT, valid_from=valid_from, **amounts)


def _amount(text: str, *, column: str, line: int) -> Decimal | None:
    if not text:
        if column in OPTIONAL_PRICE_FIELDS:
            return None
        raise PriceImportError(line, f"{column} is empty")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise PriceImportError(line, f"{column} {text!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise PriceImportError(line, f"{column} {text!r} must be a price of zero or more")
    if amount >= Decimal(10) ** MAX_INTEGER_DIGITS:
        raise PriceImportError(line, f"{column} {text!r} is too large")
    return stored_amount(amount)


def _date(text: str, *, line: int) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PriceImportError(line, f"valid_from {text!r} is not a date in the form YYYY-MM-DD") from None
