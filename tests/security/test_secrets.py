"""Secrets stay secret: gateway keys and lookup credentials are encrypted at rest and appear in
no log line, email, error message, command output, admin page, spend page or API answer, even
when the gateway refuses them (401); access tokens are stored only as hashes.

The lookups are real HTTP to the gateway simulator: in this process (logs captured with caplog)
and in a real Celery worker logging at DEBUG (its output searched too).
"""

import hashlib
import logging
import time

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccessToken, ApiKey, Gateway, Membership
from accounts.services import gateway_create
from billing.reconciliation.services import generations_reconcile
from billing.tasks.reconciliation import sweep_due_generations
from generations.fetching import generations_claim_due
from generations.models import Generation
from tests.billing.reconciliation_world import generations_store, plan_generations, world_create
from tests.reliability.processes import celery_worker

REFUSED_SECRET = "sk-or-v1-refused-0123456789abcdef0123456789abcdef"
LOOKUP_SECRET = "sk-or-v1-lookup-credential-fedcba9876543210"
COMMAND_SECRET = "sk-or-v1-from-the-command-line-5555aaaa"


@pytest.fixture
def secret_world(gateway_simulator, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600)
    world = world_create(simulator_url=gateway_simulator.url, grace_seconds=600, tag="secrets")
    planned = plan_generations(world, count=24, plant_share=0.3, seed=5, now=timezone.now(), scripts=True)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)
    refused = ApiKey(team=world.team, gateway=world.gateways["openrouter"], slug="refused", name="refused")
    refused.set_secret(REFUSED_SECRET)
    refused.save()
    refused_plan = plan_generations(world, count=1, plant_share=0, seed=6, now=timezone.now(), scripts=False)[0]
    refused_plan.key_name, refused_plan.external_id = "openrouter", "gen-looked-up-with-a-refused-key"
    [generation] = generations_store(world, [refused_plan])
    Generation.objects.filter(pk=generation.pk).update(api_key=refused)
    gateway_create(
        slug="with-lookup-credential", name="Compatible", kind="openrouter",
        base_url=f"{gateway_simulator.url}/openrouter", lookup_secret=LOOKUP_SECRET,
    )  # fmt: skip
    world.secrets["refused"] = REFUSED_SECRET
    return world


def known_secrets(world) -> list[str]:
    return [*world.secrets.values(), LOOKUP_SECRET]


def reconcile_due() -> None:
    for claim in generations_claim_due():
        generations_reconcile(claim=claim)


def pages_and_answers(world) -> dict[str, str]:
    """Everything the admin, the spend pages and the API show about this world."""
    superuser = User.objects.create_superuser("root-secrets", "root@example.com", None)
    member = User.objects.create_user("member-secrets")
    Membership.objects.create(user=member, team=world.team, role=Membership.Role.ADMIN)
    admin, pages, api = APIClient(), APIClient(), APIClient()
    admin.force_login(superuser)
    pages.force_login(member)
    _, token = AccessToken.issue(team=world.team, scopes=["read", "ingest"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    generation = Generation.objects.filter(gateway_record__isnull=False).first()
    urls = {
        admin: [
            "/admin/accounts/apikey/",
            *[f"/admin/accounts/apikey/{pk}/change/" for pk in ApiKey.objects.values_list("pk", flat=True)],
            "/admin/accounts/gateway/",
            *[f"/admin/accounts/gateway/{pk}/change/" for pk in Gateway.objects.values_list("pk", flat=True)],
            "/admin/accounts/accesstoken/",
            "/admin/generations/generation/",
            f"/admin/generations/generation/{generation.pk}/change/",
            f"/admin/generations/gatewayrecord/{generation.gateway_record.pk}/change/",
            "/admin/billing/discrepancy/",
            "/admin/billing/discrepancy/overview/",
        ],
        pages: ["/spend/", *[f"/spend/keys/{key.slug}/" for key in ApiKey.objects.all()],
                f"/spend/keys/{generation.api_key.slug}/generations/{generation.pk}/"],
        api: ["/api/v1/keys/", "/api/v1/generations/", "/api/v1/discrepancies/",
              f"/api/v1/generations/{generation.gateway.slug}/{generation.external_id}/",
              *[f"/api/v1/keys/{key.slug}/spend/" for key in ApiKey.objects.all()]],
    }  # fmt: skip
    shown = {}
    for client, client_urls in urls.items():
        for url in client_urls:
            response = client.get(url)
            assert response.status_code == 200, url
            shown[url] = response.content.decode()
    bad_record = {"gateway": "openrouter-secrets", "id": "x", "api_key": "refused", "model": "m",
                  "created_at": "2099-01-01T00:00:00Z", "tokens_prompt": -1, "tokens_completion": 1, "cost": "x"}  # fmt: skip
    shown["ingest error"] = api.post("/api/v1/generations/", {"generations": [bad_record]}, format="json").content.decode()
    return shown


def leaks(texts: dict[str, str], secrets: list[str]) -> list[tuple[str, str]]:
    """(where, which secret's last characters) for every secret found, whole or its first 16 characters."""
    found = []
    for where, text in texts.items():
        for secret in secrets:
            if secret in text or secret[:16] in text:
                found.append((where, secret[-6:]))
    return found


@pytest.mark.django_db
def test_no_secret_shows_in_logs_mail_pages_answers_or_command_output(secret_world, caplog, capsys, monkeypatch):
    caplog.set_level(logging.DEBUG)
    reconcile_due()
    Generation.objects.filter(state="pending").update(next_attempt_at=timezone.now())
    reconcile_due()
    refused = ApiKey.objects.get(slug="refused")
    assert refused.paused_at is not None, "the simulator should have refused this key (401)"
    assert mail.outbox, "the pause should have been mailed to the admins"
    monkeypatch.setenv("H8_COMMAND_SECRET", COMMAND_SECRET)
    call_command("add_api_key", secret_world.team.slug, "openrouter-secrets", "From the command",
                 "--secret-env", "H8_COMMAND_SECRET")  # fmt: skip

    texts = {
        "logs": caplog.text,
        "command output": "".join(capsys.readouterr()),
        **{f"mail {index}": message.subject + message.body for index, message in enumerate(mail.outbox)},
        "pause reasons": " ".join(ApiKey.objects.values_list("pause_reason", flat=True)),
        **pages_and_answers(secret_world),
    }

    assert "401" in caplog.text or "refused" in caplog.text
    assert leaks(texts, [*known_secrets(secret_world), COMMAND_SECRET]) == []


@pytest.mark.django_db
def test_secrets_are_encrypted_at_rest_and_tokens_only_hashed(secret_world):
    token, plaintext = AccessToken.issue(team=secret_world.team, scopes=["read"])
    with connection.cursor() as cursor:
        rows = {}
        for table in ("accounts_apikey", "accounts_gateway", "accounts_accesstoken"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed table names)
            rows[table] = " ".join(str(value) for row in cursor.fetchall() for value in row)

    assert leaks(rows, [*known_secrets(secret_world), plaintext]) == []
    assert ApiKey.objects.get(slug="refused").secret() == REFUSED_SECRET
    assert Gateway.objects.get(slug="with-lookup-credential").lookup_secret() == LOOKUP_SECRET
    assert AccessToken.objects.get(pk=token.pk).token_hash == hashlib.sha256(plaintext.encode()).hexdigest()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_logging_everything_logs_no_secret(secret_world, tmp_path):
    log_path = tmp_path / "worker.log"
    with celery_worker(log_path=log_path, TALLY_RECONCILE_BACKOFF_BASE_SECONDS="0.5", TALLY_RECONCILE_BACKOFF_CAP_SECONDS="1"):
        deadline = time.monotonic() + 120
        while Generation.objects.filter(state="pending", api_key__paused_at__isnull=True).exists():
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
            sweep_due_generations.delay()
            time.sleep(1)
    assert ApiKey.objects.get(slug="refused").paused_at is not None

    log = log_path.read_text(errors="replace")

    assert "reconcile_batch" in log  # it did log its work, at DEBUG
    assert leaks({"worker log": log}, known_secrets(secret_world)) == []
