"""Domain errors, and the one place that turns them into answers.

A service that refuses something (a status change the workflow forbids, an invoice in the wrong
state, an override by someone without the permission, an invalid ingest request) raises a
`DomainError` whose message says why, for the person who asked. The API answers it with
`api_exception_handler` (REST_FRAMEWORK's EXCEPTION_HANDLER), the admin with `admin_refusal`;
call sites neither catch nor translate them.
"""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A request the domain refuses; the message says why and changes nothing."""

    api_status = status.HTTP_400_BAD_REQUEST

    def api_body(self) -> dict[str, Any]:
        return {"detail": str(self)}


class NotAllowed(DomainError):
    """The caller lacks the role or permission this needs."""

    api_status = status.HTTP_403_FORBIDDEN


def api_exception_handler(error: Exception, context: dict) -> Response | None:
    """DRF's handler, which also answers domain errors: their status and body, nothing else."""
    if isinstance(error, DomainError):
        return Response(error.api_body(), status=error.api_status)
    return exception_handler(error, context)


def admin_refusal(modeladmin, request: HttpRequest, error: DomainError, *, about: object | None = None) -> None:
    """Tell the admin user why something was refused, naming what it was about."""
    text = f"{about}: {error}" if about is not None else str(error)
    modeladmin.message_user(request, text, messages.ERROR)
