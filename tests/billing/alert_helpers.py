"""What the alert tests share: tasks run in the test's process (Celery's eager mode, so mail
lands in Django's test outbox), a team's admins and other members, a webhook receiver."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Membership, Team


@pytest.fixture
def eager_tasks():
    from config.celery_app import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def loopback_webhooks(settings):
    settings.TALLY_WEBHOOK_ALLOW_LOOPBACK = True
    settings.TALLY_BASE_URL = "https://tally.example.com"


def add_people(team: Team) -> dict[str, str]:
    """An admin, a member and a viewer of the team, each with an address; returns role -> address."""
    addresses = {}
    for role in (Membership.Role.ADMIN, Membership.Role.MEMBER, Membership.Role.VIEWER):
        username = f"{team.slug}-{role}"
        user = get_user_model().objects.create_user(username, email=f"{username}@example.com")
        Membership.objects.create(user=user, team=team, role=role)
        addresses[role] = user.email
    return addresses


def webhook_bodies(httpserver) -> list[dict]:
    return [request.get_json() for request, _ in httpserver.log]
