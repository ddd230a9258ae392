"""What the operator commands share: finding teams and gateways by slug, reading secrets from
the environment, and turning validation errors into one-line command errors."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.models import Gateway, Team
from accounts.services import validation_error_line


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
