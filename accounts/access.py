"""Who sees which teams, and who may record generations for which.

One place for the rule, used by the API (and by pages that want it):
- an access token sees its one team, and nothing else;
- superusers and members of the Finance group see every team;
- anyone else sees the teams they are a member of, whatever their role;
- recording generations needs the `member` or `admin` role (viewers only read), or, for a
  token, its team.
"""

from django.db.models import QuerySet

from accounts.authentication import TokenUser
from accounts.models import Membership

FINANCE_GROUP = "Finance"
INGEST_ROLES = (Membership.Role.MEMBER, Membership.Role.ADMIN)


def user_is_finance(user) -> bool:
    """Finance staff: superusers and members of the Finance group. Tokens never are."""
    if isinstance(user, TokenUser) or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    # Cached on the user object: one query per request, however often it is asked.
    if not hasattr(user, "_tally_is_finance"):
        user._tally_is_finance = user.groups.filter(name=FINANCE_GROUP).exists()
    return user._tally_is_finance


def visible_team_ids(user) -> list[int] | None:
    """Ids of the teams the user may read; None means every team (finance staff)."""
    if isinstance(user, TokenUser):
        return [user.team.pk]
    if not getattr(user, "is_authenticated", False):
        return []
    if user_is_finance(user):
        return None
    return list(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def ingest_team_ids(user) -> list[int]:
    """Ids of the teams whose keys the user may record generations for."""
    if isinstance(user, TokenUser):
        return [user.team.pk]
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Membership.objects.filter(user=user, role__in=INGEST_ROLES).values_list("team_id", flat=True))


def restrict_to_visible_teams(queryset: QuerySet, user, *, team_id_field: str = "team_id") -> QuerySet:
    """The part of a queryset the user may see, by the path to its team's id (`team_id_field`)."""
    team_ids = visible_team_ids(user)
    if team_ids is None:
        return queryset
    return queryset.filter(**{f"{team_id_field}__in": team_ids})

