"""Bearer access tokens for machines calling the REST API."""

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
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        try:
            plaintext = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid access token.") from None
        token = (
            AccessToken.objects.select_related("team")
            .filter(token_hash=hash_access_token(plaintext), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked access token.")
        # At most one write a minute per token: last_used_at is informational.
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return (TokenUser(token), token)

    def authenticate_header(self, request) -> str:
        return self.keyword
