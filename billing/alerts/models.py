"""Alerts raised and their deliveries (the delivery log shown in the admin)."""

from django.db import models
from django.utils import timezone

from accounts.models import ApiKey, Gateway, Team


class AlertKind(models.TextChoices):
    KEY_BUDGET = "key_budget", "Key budget"
    TEAM_BUDGET = "team_budget", "Team budget"
    GATEWAY_PAUSED = "gateway_paused", "Gateway paused"
    KEY_PAUSED = "key_paused", "Key paused"
    DISPUTE_RATE = "dispute_rate", "Dispute rate"
    DIGEST = "digest", "Findings digest"


class Alert(models.Model):
    """One thing Tally told people. At most one per (kind, scope, window, threshold): the 80%
    budget alert of key 12 for 2026-03 exists once, however often ingest or reconciliation retry."""

    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    # What it is about ("key:12", "team:3", "gateway:2", "finance") and the period it covers
    # ("2026-03", "2026-03-01T14", a pause's start): together, what makes it "the same alert".
    scope = models.CharField(max_length=64)
    window = models.CharField(max_length=40)
    threshold = models.PositiveSmallIntegerField(default=0, help_text="Percent, for budget alerts.")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    gateway = models.ForeignKey(Gateway, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=300)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "scope", "window", "threshold"], name="alert_once_per_scope_window_threshold"
            )
        ]
        indexes = [models.Index(fields=["api_key", "window"], name="alert_key_window")]

    def __str__(self) -> str:
        return self.subject


class AlertDelivery(models.Model):
    """One way an alert was sent: one mail to all its recipients, or one webhook post."""

    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Mail: the addresses. Webhook: the URL itself stays on the team (it is a credential);
    # the log shows only its host.
    recipients = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "alert deliveries"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["alert", "channel"], name="alertdelivery_one_per_channel")]
        indexes = [models.Index(fields=["status", "created_at"], name="alertdelivery_status")]

    def __str__(self) -> str:
        return f"{self.channel} of {self.alert_id} ({self.status})"
