"""A gateway that redirects a lookup to another host: the key is not sent there, and that host's
401 (it never saw the key) does not pause the key."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from billing.reconciliation.services import generations_reconcile
from generations.fetching import generations_claim_due
from generations.gateways.base import BadPayload, Unauthorised
from generations.models import Generation
from generations.rollups import rollup_generations_added
from tests.billing.invoice_helpers import make_gateway, make_key, make_team
from tests.generations.gateway_helpers import lookup_one

SECRET = "sk-or-v1-redirected-key"


@pytest.fixture
def elsewhere():
    """Another host (another origin: another port) that answers every request 401, and keeps
    the headers it was sent."""
    server = HTTPServer(host="127.0.0.1")
    server.start()
    seen: list[dict[str, str]] = []

    def refuse(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response(
            '{"error": {"code": 401, "message": "No auth credentials found"}}',
            status=401,
            content_type="application/json",
        )

    server.expect_request("/api/v1/generation").respond_with_handler(refuse)
    yield server, seen
    server.clear()
    server.stop()


@pytest.fixture
def redirecting(httpserver: HTTPServer, elsewhere):
    """The gateway's host, answering every lookup with a 307 to the other host."""
    server, _ = elsewhere

    def redirect(request: Request) -> Response:
        return Response(
            status=307, headers={"Location": server.url_for("/api/v1/generation") + "?" + request.query_string.decode()}
        )

    httpserver.expect_request("/api/v1/generation").respond_with_handler(redirect)
    return httpserver.url_for("").rstrip("/")


def test_the_key_is_not_sent_to_another_host_and_its_401_is_not_the_keys_fault(redirecting, elsewhere):
    _, seen = elsewhere

    outcome = lookup_one(None, "openrouter", "gen-redirected", key=SECRET, base_url=redirecting)

    assert isinstance(outcome, BadPayload) and not isinstance(outcome, Unauthorised)
    assert "another host" in str(outcome)
    assert len(seen) == 1
    assert "Authorization" not in seen[0] and SECRET not in str(seen[0])


@pytest.mark.django_db
def test_reconciliation_retries_later_and_leaves_the_key_unpaused(redirecting, elsewhere):
    gateway = make_gateway("openrouter")
    gateway.base_url = redirecting
    gateway.save(update_fields=["base_url"])
    api_key = make_key(make_team(), gateway=gateway)
    api_key.set_secret(SECRET)
    api_key.save()
    created_at = timezone.now() - timedelta(minutes=5)
    generation = Generation.objects.create(
        gateway=gateway,
        external_id="gen-redirected",
        api_key=api_key,
        team=api_key.team,
        model="openai/gpt-4o",
        created_at=created_at,
        tokens_prompt=10,
        tokens_completion=5,
        cost=Decimal("0.01"),
        next_attempt_at=created_at,
    )
    rollup_generations_added([generation])

    [claim] = generations_claim_due(now=datetime.now(UTC))
    outcome = generations_reconcile(claim=claim)

    api_key.refresh_from_db()
    gateway.refresh_from_db()
    generation.refresh_from_db()
    assert dict(outcome) == {"retried": 1}
    assert api_key.paused_at is None and gateway.paused_at is None
    assert generation.state == "pending" and generation.attempts == 1
    assert generation.next_attempt_at > timezone.now()
    assert "Authorization" not in elsewhere[1][0]
