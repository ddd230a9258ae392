"""What the operator commands share: finding teams and gateways by slug, reading secrets from
the environment, and turning validation errors into one-line command errors."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Gateway, Team
from accounts.services import validation_error_line


class OperatorCommand(BaseCommand):
    """A management command whose arguments are checked before it runs: a NUL byte in any of
    them (which PostgreSQL cannot store or even compare) is a one-line error, not a traceback."""

    def execute(self, *args, **options):
        for name, value in [("argument", arg) for arg in args] + list(options.items()):
            if isinstance(value, str) and "\x00" in value:
                shown = "an argument" if name == "argument" else name.replace("_", "-")
                raise CommandError(f"{shown} must not contain a NUL byte.")
        return super().execute(*args, **options)


def team_from_slug(slug: str) -> Team:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise CommandError(f"No team with slug {slug!r}; list them in the admin or create one with add_team.")
    return team


def gateway_from_slug(slug: str) -> Gateway:
    gateway = Gateway.objects.filter(slug=slug).first()
    if gateway is None:
        raise CommandError(f"No gateway with slug {slug!r}; create one with add_gateway.")
    return gateway


def secret_from_environment(variable: str) -> str:
    """The value of an environment variable that holds a secret, so it never appears in argv."""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise CommandError(f"Environment variable {variable} is not set or is empty.")
    return value


def decimal_from_argument(value: str, *, option: str, example: str) -> Decimal:
    """A decimal option, parsed without float; the range is checked by the model's validators."""
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"{option} must be a number such as {example}, not {value!r}.") from None


@contextmanager
def validation_errors_as_command_errors() -> Iterator[None]:
    try:
        yield
    except ValidationError as error:
        raise CommandError(validation_error_line(error)) from None


def text_from_argument(value: str | None, *, option: str, max_length: int, blank: bool = False) -> str:
    """A text argument stripped, or a one-line CommandError when it is empty (unless `blank`),
    too long, or holds a NUL byte (which PostgreSQL cannot store)."""
    text = (value or "").strip()
    if "\x00" in text:
        raise CommandError(f"{option} must not contain a NUL byte.")
    if len(text) > max_length:
        raise CommandError(f"{option} is {len(text)} characters long; at most {max_length} are allowed.")
    if not text and not blank:
        raise CommandError(f"{option} must not be empty.")
    return text
