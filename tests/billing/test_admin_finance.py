"""The finance admin as a finance user and as a team member."""

import html
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from accounts.models import ApiKey
from billing.invoicing.drafting import invoice_draft
from billing.invoicing.finalizing import invoice_finalize
from billing.models import Discrepancy, DiscrepancyStatus, Invoice, InvoiceStatus
from generations.models import GatewayRecord, GenerationState
from tests.billing.invoice_helpers import (
    PERIOD,
    make_discrepancy,
    make_finance_user,
    make_generation,
    make_key,
    make_member,
    make_team,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    team = make_team("acme")
    key = make_key(team)
    verified = make_generation(key, cost="1.00", charged="1.00", state=GenerationState.VERIFIED)
    disputed = make_generation(key, cost="2.00", charged="2.40", state=GenerationState.DISPUTED)
    GatewayRecord.objects.create(
        generation=disputed, total_cost=Decimal("2.4"), raw='{"data": {"total_cost": 2.40000000001}}'
    )
    finding = make_discrepancy(disputed)
    invoice = invoice_draft(team=team, period=PERIOD)
    return {
        "team": team,
        "key": key,
        "verified": verified,
        "disputed": disputed,
        "finding": finding,
        "invoice": invoice,
    }


@pytest.fixture
def finance_client(client):
    client.force_login(make_finance_user())
    return client


def test_finance_sees_the_finance_pages(finance_client, world):
    pages = [
        reverse("admin:index"),
        reverse("admin:billing_invoice_changelist"),
        reverse("admin:billing_invoice_change", args=[world["invoice"].pk]),
        reverse("admin:billing_discrepancy_changelist"),
        reverse("admin:billing_discrepancy_change", args=[world["finding"].pk]),
        reverse("admin:billing_reconciliation_overview"),
        reverse("admin:generations_generation_changelist"),
        reverse("admin:generations_generation_change", args=[world["disputed"].pk]),
        reverse("admin:accounts_apikey_changelist"),
    ]
    for page in pages:
        assert finance_client.get(page).status_code == 200, page


def test_finance_cannot_manage_users_or_gateways(finance_client, world):
    assert finance_client.get(reverse("admin:auth_user_changelist")).status_code == 403
    gateway = world["key"].gateway
    response = finance_client.post(reverse("admin:accounts_gateway_change", args=[gateway.pk]), {"slug": "renamed"})
    assert response.status_code == 403


def test_a_team_member_has_no_admin_access(client, world):
    client.force_login(make_member(world["team"]))
    for page in (reverse("admin:index"), reverse("admin:billing_invoice_changelist")):
        response = client.get(page)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.get(reverse("admin:billing_invoice_pdf", args=[world["invoice"].pk]))
    assert response.status_code == 302


def test_the_generation_page_shows_the_raw_json_readably_with_exact_digits(finance_client, world):
    page = finance_client.get(reverse("admin:generations_generation_change", args=[world["disputed"].pk]))
    assert '"total_cost": 2.40000000001' in html.unescape(page.content.decode())


def test_generations_are_found_by_their_exact_id(finance_client, world):
    url = reverse("admin:generations_generation_changelist")
    found = finance_client.get(url, {"q": world["disputed"].external_id})
    assert list(found.context["cl"].result_list) == [world["disputed"]]
    assert list(finance_client.get(url, {"q": world["disputed"].external_id[:-1]}).context["cl"].result_list) == []


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("acknowledge", DiscrepancyStatus.ACKNOWLEDGED),
        ("resolve", DiscrepancyStatus.RESOLVED),
        ("write_off", DiscrepancyStatus.WRITTEN_OFF),
    ],
)
def test_every_discrepancy_action_changes_state_and_leaves_history(finance_client, world, action, status):
    finding = world["finding"]
    url = reverse("admin:billing_discrepancy_changelist")

    asked = finance_client.post(url, {"action": action, "_selected_action": [finding.pk]})
    assert asked.status_code == 200 and b"reason" in asked.content
    assert Discrepancy.objects.get(pk=finding.pk).status == DiscrepancyStatus.OPEN

    done = finance_client.post(
        url, {"action": action, "_selected_action": [finding.pk], "apply": "1", "reason": "Checked the gateway invoice"}
    )

    assert done.status_code == 302
    finding.refresh_from_db()
    assert finding.status == status
    event = finding.events.get()
    assert (event.by.username, event.from_status, event.to_status, event.note) == (
        "finance",
        DiscrepancyStatus.OPEN,
        status,
        "Checked the gateway invoice",
    )
    history = finance_client.get(reverse("admin:billing_discrepancy_change", args=[finding.pk])).content.decode()
    assert "Checked the gateway invoice" in history


def test_a_discrepancy_action_without_a_reason_changes_nothing(finance_client, world):
    url = reverse("admin:billing_discrepancy_changelist")
    finance_client.post(
        url, {"action": "write_off", "_selected_action": [world["finding"].pk], "apply": "1", "reason": ""}
    )
    assert Discrepancy.objects.get(pk=world["finding"].pk).status == DiscrepancyStatus.OPEN
    assert not world["finding"].events.exists()


def test_re_check_now_queues_a_new_lookup_and_leaves_history(finance_client, world):
    url = reverse("admin:billing_discrepancy_changelist")
    finance_client.post(
        url,
        {
            "action": "recheck",
            "_selected_action": [world["finding"].pk],
            "apply": "1",
            "reason": "Gateway fixed its data",
        },
    )

    generation = world["disputed"]
    generation.refresh_from_db()
    assert generation.state == GenerationState.PENDING and generation.next_attempt_at is not None
    assert "Gateway fixed its data" in world["finding"].events.get().note
    # The roll-ups moved with it: the draft now counts it as pending, not disputed.
    assert invoice_draft(team=world["team"], period=PERIOD).lines.get().generations == 2


def test_finalize_from_the_admin_needs_an_override_while_unsettled(finance_client, world):
    url = reverse("admin:billing_invoice_changelist")
    invoice = world["invoice"]

    finance_client.post(url, {"action": "finalize", "_selected_action": [invoice.pk], "apply": "1"})
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT

    finance_client.post(
        url,
        {
            "action": "finalize",
            "_selected_action": [invoice.pk],
            "apply": "1",
            "override": "on",
            "reason": "Dispute with gateway ongoing",
        },
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.FINALIZED and invoice.number
    assert invoice.override_reason == "Dispute with gateway ongoing"


def test_an_override_by_a_user_without_the_override_permission_is_refused_with_the_reason(client, world):
    clerk = User.objects.create_user("clerk", password="x", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_invoice", "change_invoice", "finalize_invoice"])
    )
    client.force_login(clerk)
    invoice = world["invoice"]

    response = client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "finalize", "_selected_action": [invoice.pk], "apply": "1", "override": "on", "reason": "now"},
        follow=True,
    )

    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT
    shown = [str(message) for message in response.context["messages"]]
    assert shown == [f"{invoice}: Only finance may finalize an unsettled invoice with an override."]


def test_a_finalized_invoice_cannot_be_changed_or_deleted_in_the_admin(world):
    superuser = User.objects.create_superuser("root", password="root-pass-123")
    invoice = invoice_finalize(invoice=world["invoice"], by=superuser, override_reason="close")
    client = Client()
    client.force_login(superuser)
    change = reverse("admin:billing_invoice_change", args=[invoice.pk])

    page = client.get(change)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(change, {"total": "0.01"}).status_code == 403
    assert client.post(reverse("admin:billing_invoice_delete", args=[invoice.pk]), {"post": "yes"}).status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).total == invoice.total


def test_void_from_the_admin_keeps_the_number(finance_client, world):
    invoice = invoice_finalize(invoice=world["invoice"], by=make_finance_user("closer"), override_reason="close")
    finance_client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "void", "_selected_action": [invoice.pk], "apply": "1", "reason": "Issued twice"},
    )
    voided = Invoice.objects.get(pk=invoice.pk)
    assert (voided.status, voided.number, voided.void_reason) == (InvoiceStatus.VOID, invoice.number, "Issued twice")


def test_invoice_exports_open_from_the_admin(finance_client, world):
    invoice = world["invoice"]
    csv_response = finance_client.get(reverse("admin:billing_invoice_csv", args=[invoice.pk]))
    pdf_response = finance_client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))
    printed = finance_client.get(reverse("admin:billing_invoice_print", args=[invoice.pk]))
    assert csv_response["Content-Type"].startswith("text/csv") and b"acme-prod" in csv_response.content
    assert pdf_response.content.startswith(b"%PDF")
    assert b"Acme" in printed.content and b"March 2026" in printed.content


def test_the_overview_shows_counts_per_gateway_and_open_amounts_by_kind(finance_client, world):
    page = finance_client.get(reverse("admin:billing_reconciliation_overview"))
    rows = {row.gateway.slug: row for row in page.context["gateways"]}
    assert (rows["openrouter"].verified, rows["openrouter"].disputed, rows["openrouter"].pending) == (1, 1, 0)
    assert [(row.kind, row.count, row.amount) for row in page.context["open_by_kind"]] == [
        ("cost_mismatch", 1, Decimal("0.4"))
    ]


def test_api_key_pages_never_show_the_secret(world):
    superuser = User.objects.create_superuser("root", password="root-pass-123")
    client = Client()
    client.force_login(superuser)
    response = client.post(
        reverse("admin:accounts_apikey_add"),
        {
            "team": world["team"].pk,
            "gateway": world["key"].gateway.pk,
            "name": "new",
            "slug": "acme-new",
            "secret": "sk-or-v1-supersecret9876",
        },
    )
    assert response.status_code == 302
    created = ApiKey.objects.get(slug="acme-new")
    assert created.secret() == "sk-or-v1-supersecret9876" and created.last_four == "9876"
    page = client.get(reverse("admin:accounts_apikey_change", args=[created.pk])).content.decode()
    assert "supersecret" not in page and created.secret_encrypted not in page and "…9876" in page
