"""Who may read what only operators should: the metrics and the health checks' details."""

import hmac

from django.conf import settings
from django.http import HttpRequest


def is_operator(request: HttpRequest) -> bool:
    """A bearer TALLY_METRICS_TOKEN, a client address in TALLY_METRICS_ALLOWED_ADDRESSES, or a
    signed-in staff user."""
    token = settings.TALLY_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    if request.META.get("REMOTE_ADDR", "") in settings.TALLY_METRICS_ALLOWED_ADDRESSES:
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)
