"""What coverage checks found, stored so pages show it without asking the gateway.

`KeyDayCoverage` says, per key and UTC day, whether the gateway's activity was checked against
Tally's roll-ups and with what result; `CoverageCheck` is one check of one gateway's day, with
the keys the gateway listed that Tally does not know. The findings themselves are
discrepancies (billing.models.Discrepancy, kinds unrecorded_spend and unbilled_records).
"""

from django.db import models
from django.utils import timezone

from accounts.models import ApiKey, Gateway, Team
from generations.models import money_field


class CoverageStatus(models.TextChoices):
    MATCHED = "matched", "Checked, matched"
    DIFFERED = "differed", "Checked, differed"
    NOT_CHECKED = "not_checked", "Not checked yet"
    NOT_CHECKABLE = "not_checkable", "Not checkable"


class KeyDayCoverage(models.Model):
    """The last coverage check of one key's UTC day: matched, differed, or not checkable (with
    why: e.g. the key could not be matched to one key at the gateway). No row means not checked."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+", db_index=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    status = models.CharField(max_length=16, choices=CoverageStatus.choices)
    reason = models.CharField(max_length=500, blank=True, default="")
    checked_at = models.DateTimeField(default=timezone.now)
    gateway_requests = models.BigIntegerField(default=0)
    gateway_cost = money_field(default=0)
    tally_generations = models.BigIntegerField(default=0)
    tally_cost = money_field(default=0)

    class Meta:
        verbose_name_plural = "key day coverage"
        constraints = [models.UniqueConstraint(fields=["api_key", "day"], name="keydaycoverage_unique_key_day")]
        indexes = [models.Index(fields=["team", "day"], name="keydaycoverage_team_day")]

    def __str__(self) -> str:
        return f"{self.api_key_id} {self.day}: {self.status}"


class CoverageCheck(models.Model):
    """One coverage check of a gateway's UTC day: when, how it went, and the keys the gateway
    listed that match no Tally key (with what they spent that day, when the gateway said)."""

    class Outcome(models.TextChoices):
        CHECKED = "checked"
        FAILED = "failed"

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.TextField(blank=True, default="")
    checked_at = models.DateTimeField(default=timezone.now)
    keys_checked = models.PositiveIntegerField(default=0)
    # [{"hash", "label", "name", "disabled"}] as the gateway listed them.
    unknown_keys = models.JSONField(default=list, blank=True)
    # The day's spend at the gateway on no key Tally matched (account total less matched keys).
    unattributed_cost = money_field(default=0)

    class Meta:
        ordering = ["-day", "gateway"]
        constraints = [models.UniqueConstraint(fields=["gateway", "day"], name="coveragecheck_unique_gateway_day")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.day}: {self.outcome}"
