"""A gateway that echoes the key it refused (or the whole Authorization header) never gets the
secret into a log line, the admins' mail or a key's or gateway's pause reason."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from tests.billing.reconciliation_world import outcome_apply
from generations.fetching import generations_claim_due
from generations.models import Generation
from generations.gateways.redaction import redact_secrets
from tests.billing.invoice_helpers import make_generation, make_key, make_team
from tests.generations.gateway_helpers import lookup_one

SECRET = "sk-or-v1-echoed-by-the-gateway-0123456789abcdef"


class EchoingGateway(BaseHTTPRequestHandler):
    """Answers every lookup with `status` and a body quoting what it was sent."""

    status = 401

    def do_GET(self):
        body = json.dumps(
            {
                "error": {
                    "message": f"Invalid API key {self.headers.get('Authorization')} for {self.path}",
                    "api_key": self.headers.get("Authorization", "").removeprefix("Bearer "),
                    "other": "sk-live-someone-elses-key-987654321",
                }
            }
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def echoing_gateway():
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("kind", ["openrouter", "fastrouter", "kushrouter"])
@pytest.mark.parametrize("status", [401, 402, 500, 418])
def test_lookup_errors_never_carry_the_secret(echoing_gateway, kind, status, monkeypatch):
    monkeypatch.setattr(EchoingGateway, "status", status)
    outcome = lookup_one(None, kind, "gen-1", key=SECRET, base_url=echoing_gateway)

    text = str(outcome)
    assert f"HTTP {status}" in text
    assert SECRET not in text and "sk-live-someone-elses-key" not in text
    assert "[redacted]" in text


@pytest.mark.django_db
def test_a_paused_key_keeps_no_secret_in_its_reason_the_logs_or_the_mail(echoing_gateway, settings, caplog):
    settings.ADMINS = [("Ops", "ops@example.com")]
    caplog.set_level(logging.DEBUG)
    api_key = make_key(make_team(), "refused")
    generation = make_generation(api_key, cost="1.00")
    Generation.objects.filter(pk=generation.pk).update(next_attempt_at=timezone.now())
    [claim] = generations_claim_due()
    generation.refresh_from_db()
    outcome = lookup_one(None, "openrouter", generation.external_id, key=SECRET, base_url=echoing_gateway)

    outcome_apply(generation=generation, outcome=outcome, leased_until=claim.leased_until, prices=None)

    api_key.refresh_from_db()
    assert api_key.paused_at is not None and "401" in api_key.pause_reason
    [message] = mail.outbox
    for text in (api_key.pause_reason, message.subject, message.body, caplog.text):
        assert SECRET not in text
        assert "someone-elses" not in text


def test_redaction_keeps_what_helps_and_removes_what_looks_like_a_credential():
    text = 'HTTP 401: {"error": "bad key", "token": "abc123def", "model": "openai/gpt-4o"} Bearer xyz.123 sk_live_ABCDEFGH'
    redacted = redact_secrets(text, secrets=("bad key",))
    assert "abc123def" not in redacted and "xyz.123" not in redacted and "sk_live_ABCDEFGH" not in redacted
    assert "openai/gpt-4o" in redacted and "HTTP 401" in redacted
