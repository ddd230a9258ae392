from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.services import gateway_create
from billing.models import ModelPrice
from billing.prices import PriceImportError, prices_import

pytestmark = pytest.mark.django_db

HEADER = "gateway,model,prompt,completion,cache_read,cache_write,valid_from"


@pytest.fixture(autouse=True)
def gateways() -> None:
    gateway_create(slug="kushrouter", kind="kushrouter", base_url="https://kush.example", discount=Decimal("0.30"))
    gateway_create(slug="openrouter", kind="openrouter", base_url="https://openrouter.example")


def write_csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def import_file(path: Path) -> str:
    output = StringIO()
    call_command("import_prices", str(path), stdout=output)
    return output.getvalue()


def test_it_imports_every_row_with_exact_decimals(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "kushrouter,anthropic/claude-sonnet-4,3,15,0.3,3.75,2025-01-01",
        "openrouter,openai/gpt-4o-mini,0.15,0.6,,,2025-02-01",
        "openrouter,tiny/model,0.000000000001,37.5,0.0375,,2025-02-01",
    )

    output = import_file(path)

    assert output == f"Imported 3 prices from {path}: 3 new, 0 replaced.\n"
    claude = ModelPrice.objects.get(model="anthropic/claude-sonnet-4")
    assert (claude.gateway.slug, claude.valid_from) == ("kushrouter", date(2025, 1, 1))
    assert (claude.prompt, claude.completion, claude.cache_read, claude.cache_write) == (
        Decimal("3"), Decimal("15"), Decimal("0.3"), Decimal("3.75"),
    )  # fmt: skip
    mini = ModelPrice.objects.get(model="openai/gpt-4o-mini")
    assert (mini.cache_read, mini.cache_write) == (None, None)
    tiny = ModelPrice.objects.get(model="tiny/model")
    assert (tiny.prompt, tiny.cache_read) == (Decimal("0.000000000001"), Decimal("0.0375"))


def test_importing_the_same_file_again_replaces_and_adds_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "openrouter,openai/gpt-4o-mini,0.15,0.6,,,2025-02-01")
    import_file(path)
    path = write_csv(
        tmp_path,
        "openrouter,openai/gpt-4o-mini,0.20,0.8,0.05,,2025-02-01",
        "openrouter,openai/gpt-4o-mini,0.10,0.4,,,2025-06-01",
    )

    output = import_file(path)

    assert output.endswith("2 prices from " + str(path) + ": 1 new, 1 replaced.\n")
    prices = ModelPrice.objects.order_by("valid_from")
    assert [(price.prompt, price.cache_read) for price in prices] == [
        (Decimal("0.20"), Decimal("0.05")),
        (Decimal("0.10"), None),
    ]


def test_it_reads_a_file_saved_by_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + "openrouter,\"vendor/model, large\",1,2,,,2025-01-01\r\n").encode())

    import_file(path)

    assert ModelPrice.objects.get().model == "vendor/model, large"


GOOD_ROW = "openrouter,openai/gpt-4o-mini,0.15,0.6,,,2025-02-01"


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("nowhere,openai/gpt-4o,1,2,,,2025-01-01", "line 3: unknown gateway 'nowhere'"),
        ("openrouter,,1,2,,,2025-01-01", "line 3: the model is empty"),
        ("openrouter,openai/gpt-4o,cheap,2,,,2025-01-01", "line 3: prompt 'cheap' is not a number"),
        ("openrouter,openai/gpt-4o,1,,,,2025-01-01", "line 3: completion is empty"),
        ("openrouter,openai/gpt-4o,-1,2,,,2025-01-01", "line 3: prompt '-1' must be a price of zero or more"),
        ("openrouter,openai/gpt-4o,1,2,NaN,,2025-01-01", "line 3: cache_read 'NaN' must be a price"),
        ("openrouter,openai/gpt-4o,1,2,,1e400,2025-01-01", "line 3: cache_write '1e400' is too large"),
        ("openrouter,openai/gpt-4o,1,2,,,01/02/2025", "line 3: valid_from '01/02/2025' is not a date"),
        ("openrouter,openai/gpt-4o,1,2,,,2025-02-30", "line 3: valid_from '2025-02-30' is not a date"),
        ("openrouter,openai/gpt-4o,1,2,2025-01-01", "line 3: expected 7 columns, found 5"),
        (GOOD_ROW.replace("0.15", "0.99"), "line 3: repeats line 2 (same gateway, model and valid_from)"),
    ],
)
def test_a_bad_row_rejects_the_whole_file_naming_its_line(tmp_path: Path, bad_row: str, message: str) -> None:
    path = write_csv(tmp_path, GOOD_ROW, bad_row, "kushrouter,anthropic/claude-sonnet-4,3,15,0.3,3.75,2025-01-01")

    with pytest.raises(CommandError) as error:
        import_file(path)

    assert message in str(error.value)
    assert str(error.value).startswith(f"{path}: line ")
    assert str(error.value).endswith("Nothing was imported.")
    assert "\n" not in str(error.value)
    assert not ModelPrice.objects.exists()


def test_a_rejected_file_leaves_existing_prices_as_they_were(tmp_path: Path) -> None:
    import_file(write_csv(tmp_path, GOOD_ROW))

    with pytest.raises(CommandError):
        import_file(write_csv(tmp_path, GOOD_ROW.replace("0.15", "0.99"), "nowhere,model,1,2,,,2025-01-01"))

    assert ModelPrice.objects.get().prompt == Decimal("0.15")


@pytest.mark.parametrize(
    "header",
    ["gateway,model,prompt,completion,valid_from", "model,gateway,prompt,completion,cache_read,cache_write,valid_from"],
)
def test_a_wrong_header_is_reported_on_line_1(tmp_path: Path, header: str) -> None:
    with pytest.raises(PriceImportError) as error:
        prices_import(lines=write_csv(tmp_path, GOOD_ROW, header=header).read_text().splitlines())

    assert error.value.line == 1
    assert HEADER in str(error.value)


def test_a_file_without_prices_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(PriceImportError, match="no prices"):
        prices_import(lines=[HEADER, ""])


def test_a_missing_file_is_a_one_line_error() -> None:
    with pytest.raises(CommandError, match="Cannot read /nonexistent/prices.csv: No such file or directory."):
        call_command("import_prices", "/nonexistent/prices.csv")
