"""Requests no part of Tally can answer are refused here, once, before any view runs."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

MESSAGE = "A query parameter holds a NUL byte."


class RefuseNulBytesMiddleware:
    """A NUL byte in a query parameter answers 400. PostgreSQL cannot store or even compare
    text holding one, so a filter like `?status=%00` would otherwise fail deep in a query (a
    500) on any page, admin list or API list that passes it to the database."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400)
            return TemplateResponse(request, "400.html", {"detail": MESSAGE}, status=400).render()
        return self.get_response(request)
