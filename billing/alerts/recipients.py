"""Who hears about what: a team's admins, and finance staff."""

from django.contrib.auth import get_user_model

from accounts.access import FINANCE_GROUP
from accounts.models import Membership, Team


def team_admin_emails(team: Team) -> list[str]:
    """The e-mail addresses of the team's active admins (Membership role admin)."""
    return _emails(
        get_user_model().objects.filter(
            memberships__team=team, memberships__role=Membership.Role.ADMIN, is_active=True
        )
    )


def finance_emails() -> list[str]:
    """The e-mail addresses of active users in the Finance group."""
    return _emails(get_user_model().objects.filter(groups__name=FINANCE_GROUP, is_active=True))


def _emails(users) -> list[str]:
    return sorted({email for email in users.exclude(email="").values_list("email", flat=True)})
