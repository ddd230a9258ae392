"""Requests no part of Tally can answer are refused (or their unreadable cookies dropped) here,
once, before any view runs."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

MESSAGE = "A query parameter holds a NUL byte."


class IgnoreNulCookiesMiddleware:
    """A cookie holding a NUL byte is dropped, as if the browser had not sent it: the session
    and CSRF cookies are looked up in PostgreSQL, which cannot compare text holding one (a 500
    on every page). Dropping it signs the visitor out instead of locking them out. Runs before
    the session middleware reads the cookies."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name in [name for name, value in request.COOKIES.items() if "\x00" in name or "\x00" in value]:
            del request.COOKIES[name]
        return self.get_response(request)


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
