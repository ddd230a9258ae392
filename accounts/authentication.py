"""Bearer access tokens for machines calling the REST API."""

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import AccessToken
from accounts.secrets import hash_access_token


class TokenUser:
    """The identity of a request made with an access token: the token's team, nothing more."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, token: AccessToken) -> None:
        self.token = token
        self.team = token.team
        self.pk = None

    def __str__(self) -> str:
        return f"token {self.token.prefix}…"


class AccessTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        refuse_if_locked_out(request)
        if len(header) != 2:
            count_failure(request)
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        try:
            plaintext = header[1].decode()
        except UnicodeDecodeError:
            count_failure(request)
            raise exceptions.AuthenticationFailed("Invalid access token.") from None
        token = (
            AccessToken.objects.select_related("team")
            .filter(token_hash=hash_access_token(plaintext), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            count_failure(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked access token.")
        # At most one write a minute per token: last_used_at is informational.
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return (TokenUser(token), token)

    def authenticate_header(self, request) -> str:
        return self.keyword


# Like django-axes for passwords: an address that sent too many invalid tokens within the window
# is refused token authentication (429) until the window ends, valid tokens included, so that
# guessing cannot go on at full speed. Counted in Django's cache (per process unless CACHES is
# shared), by the client address axes resolves (AXES_IPWARE_* settings behind a proxy).
TOKEN_FAILURE_WINDOW_SECONDS = 600


def _failures_key(request) -> str:
    return f"tally:token-failures:{get_client_ip_address(request) or 'unknown'}"


def refuse_if_locked_out(request) -> None:
    allowed = settings.TALLY_TOKEN_FAILURES_ALLOWED
    if cache.get(_failures_key(request), 0) >= allowed:
        raise exceptions.Throttled(
            wait=TOKEN_FAILURE_WINDOW_SECONDS, detail="Too many invalid access tokens from this address."
        )


def count_failure(request) -> None:
    key = _failures_key(request)
    cache.add(key, 0, timeout=TOKEN_FAILURE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=TOKEN_FAILURE_WINDOW_SECONDS)
