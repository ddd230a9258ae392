"""DRF permission classes for the REST API.

Tokens carry scopes: `read` for every GET, `ingest` for posting generations. Signed-in users
read what their teams own (finance staff: everything); recording generations needs the member
or admin role. Which rows a request sees is decided by accounts.access, not here: these classes
only answer "may this caller do this kind of thing at all?".
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.access import ingest_team_ids, user_is_finance
from accounts.authentication import TokenUser
from accounts.models import AccessToken


class _TokenScopeOr(BasePermission):
    """Tokens need `scope`; signed-in users pass `user_may`."""

    scope: str = ""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if isinstance(user, TokenUser):
            if not user.token.has_scope(self.scope):
                self.message = f"This access token lacks the '{self.scope}' scope."
                return False
            return True
        return self.user_may(user)

    def user_may(self, user) -> bool:
        return True


class CanRead(_TokenScopeOr):
    scope = AccessToken.Scope.READ


class CanIngest(_TokenScopeOr):
    scope = AccessToken.Scope.INGEST
    message = "Recording generations needs the member or admin role in a team."

    def user_may(self, user) -> bool:
        return bool(ingest_team_ids(user))


class FinanceChangesObjects(BasePermission):
    """Anyone allowed in may read an object they can see; only finance staff change it.

    Checked per object, after the object was found among what the caller may see, so that an
    object of another team answers 404 before a caller without the right is told 403.
    """

    message = "Only finance staff may change this."

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS or user_is_finance(request.user)
