"""Requests no part of Tally can answer are refused here, once, before any view runs."""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


class RefuseNulBytesMiddleware:
    """A NUL byte in a query parameter answers 400. PostgreSQL cannot store or even compare
    text holding one, so a filter like `?status=%00` would otherwise fail deep in a query (a
    500) on any page, admin list or API list that passes it to the database."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            return HttpResponseBadRequest("A query parameter holds a NUL byte.", content_type="text/plain")
        return self.get_response(request)
