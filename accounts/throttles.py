"""Rate limits outside the API's own: password reset requests.

Built on DRF's SimpleRateThrottle, so the rate is written like the API's
(`TALLY_PASSWORD_RESET_THROTTLE`, e.g. `5/hour`) and counted in the same shared cache.
"""

import hashlib

from django.contrib.auth import views as auth_views
from django.template.response import TemplateResponse
from rest_framework.throttling import SimpleRateThrottle


class PasswordResetThrottle(SimpleRateThrottle):
    """Reset requests per client address, and per address asked for, so neither one machine
    nor many can flood a mailbox or the mail server."""

    scope = "password_reset"

    def __init__(self, *, by: str) -> None:
        super().__init__()
        self.by = by

    def get_cache_key(self, request, view) -> str:
        if self.by == "email":
            email = (request.POST.get("email") or "").strip().lower()
            ident = "email-" + hashlib.sha256(email.encode()).hexdigest()
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, answering 429 once the rate is spent."""

    def post(self, request, *args, **kwargs):
        throttles = [PasswordResetThrottle(by="address"), PasswordResetThrottle(by="email")]
        if not all([throttle.allow_request(request, self) for throttle in throttles]):
            return TemplateResponse(request, "429.html", {"title": "Too many requests"}, status=429)
        return super().post(request, *args, **kwargs)
