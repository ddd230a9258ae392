"""Prices, discrepancies and invoices."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiKey, Gateway, Team
from billing.money import INVOICE_DIGITS, INVOICE_PLACES
from generations.models import Generation, money_field
from lib.constants import MARKUP_DIGITS, MARKUP_PLACES
from lib.errors import DomainError


class PriceSource(models.TextChoices):
    """Where a stored list price came from. The catalog (genai-prices) is not stored: it ships
    with the package and is read where no stored price is in force (billing/price_book.py)."""

    IMPORT = "import", "import"
    GATEWAY_LIST = "gateway_list", "gateway list"


class ModelPrice(models.Model):
    """A gateway's list price for a model, in USD per million tokens, from a date on: imported
    by finance (`import_prices`) or read from the gateway's own model list (`sync_prices`)."""

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="prices")
    model = models.CharField(max_length=200)
    prompt = money_field()
    completion = money_field()
    cache_read = money_field(null=True, blank=True)
    cache_write = money_field(null=True, blank=True)
    valid_from = models.DateField()
    source = models.CharField(max_length=16, choices=PriceSource.choices, default=PriceSource.IMPORT)
    # Gateway lists only: when the list was read, and the prompt size from which the gateway
    # charges other (long-context) rates; this price holds only below it.
    fetched_at = models.DateTimeField(null=True, blank=True)
    applies_below_prompt_tokens = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["gateway", "model", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "model", "source", "valid_from"], name="modelprice_unique_source_from"
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.model} from {self.valid_from} ({self.get_source_display()})"

    @property
    def source_description(self) -> str:
        """Where this price came from, as a finding's detail and the admin say it."""
        if self.source == PriceSource.GATEWAY_LIST:
            read = f", read {self.fetched_at:%Y-%m-%d}" if self.fetched_at else ""
            return f"gateway list ({self.gateway.slug}{read})"
        return f"import (from {self.valid_from:%Y-%m-%d})"

    def applies_to(self, *, input_tokens: int) -> bool:
        return self.applies_below_prompt_tokens is None or input_tokens < self.applies_below_prompt_tokens


class DiscrepancyKind(models.TextChoices):
    COST_MISMATCH = "cost_mismatch"
    TOKEN_MISMATCH = "token_mismatch"
    UPSTREAM_INCONSISTENT = "upstream_inconsistent"
    BYOK_MISMATCH = "byok_mismatch"
    BYOK_FEE_UNEXPECTED = "byok_fee_unexpected"
    PRICE_MISMATCH = "price_mismatch"
    MODEL_SUBSTITUTED = "model_substituted"
    KEY_MISMATCH = "key_mismatch"
    MISSING_UPSTREAM = "missing_upstream"
    EXPIRED_UNVERIFIED = "expired_unverified"
    CANCELLED_BILLED = "cancelled_billed"
    UNREADABLE_RECORD = "unreadable_record"
    CACHE_HIT = "cache_hit"
    PRICE_UNCHECKED = "price_unchecked"
    # Per key, UTC day and model (coverage checks, billing/coverage): no generation.
    UNRECORDED_SPEND = "unrecorded_spend"
    UNBILLED_RECORDS = "unbilled_records"


# The kinds found on a key's day rather than on one generation.
KEY_DAY_KINDS = (DiscrepancyKind.UNRECORDED_SPEND, DiscrepancyKind.UNBILLED_RECORDS)


class Severity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class DiscrepancyStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    WRITTEN_OFF = "written_off"


SETTLED_STATUSES = (DiscrepancyStatus.RESOLVED, DiscrepancyStatus.WRITTEN_OFF)


OPEN_STATUSES = (DiscrepancyStatus.OPEN, DiscrepancyStatus.ACKNOWLEDGED)


class Discrepancy(models.Model):
    """One finding on one generation, or on one key's UTC day and model (coverage findings, which
    have no generation). At most one per (generation, kind) or (key, day, model, kind): a re-run
    updates it."""

    generation = models.ForeignKey(
        Generation, null=True, blank=True, on_delete=models.CASCADE, related_name="discrepancies"
    )
    # The generation's key and team, so counts of open findings never join the generations table.
    # Filled from the generation on save (as is generation_created_at); bulk_create callers pass
    # them; given directly for key-day findings.
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+", db_index=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", db_index=False)
    # When the generation was made (its partition key: never changes): a month's findings are read here alone.
    generation_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    kind = models.CharField(max_length=32, choices=DiscrepancyKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    expected = money_field(null=True, blank=True)
    actual = money_field(null=True, blank=True)
    delta = money_field(null=True, blank=True)
    detail = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=DiscrepancyStatus.choices, default=DiscrepancyStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_reason = models.TextField(blank=True, default="")
    # Key-day findings only: the UTC day and the model the gateway's activity and Tally's
    # roll-ups were compared on.
    day = models.DateField(null=True, blank=True)
    model = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name_plural = "discrepancies"
        constraints = [
            models.UniqueConstraint(fields=["generation", "kind"], name="discrepancy_unique_generation_kind"),
            models.UniqueConstraint(
                fields=["api_key", "day", "model", "kind"],
                condition=Q(generation__isnull=True),
                name="discrepancy_unique_key_day_model_kind",
            ),
            # Either a finding on a generation (no day) or on a key's day (no generation).
            models.CheckConstraint(
                condition=(Q(generation__isnull=False) & Q(day__isnull=True) & Q(model=""))
                | (Q(generation__isnull=True) & Q(day__isnull=False)),
                name="discrepancy_generation_or_key_day",
            ),
            models.CheckConstraint(  # so a month's reads by generation_created_at miss no finding
                condition=Q(generation__isnull=True) | Q(generation_created_at__isnull=False), name="discrepancy_made_at",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind"], name="discrepancy_status_kind"),
            # The finance list's order (newest first, the admin's and the overview's).
            models.Index(fields=["created_at", "id"], name="discrepancy_created_id"),
            models.Index(fields=["team", "status", "api_key"], name="discrepancy_team_status_key"),
            models.Index(  # a key's open error findings of a month (the spend page's count)
                fields=["api_key", "generation_created_at"],
                condition=Q(severity="error", status__in=["open", "acknowledged"]),
                name="discrepancy_open_error_key",
            ),
        ]

    def __str__(self) -> str:
        if self.generation_id is None:
            return f"{self.kind} on key {self.api_key_id}, {self.day} {self.model}"
        return f"{self.kind} on {self.generation_id}"

    @property
    def is_key_day(self) -> bool:
        return self.generation_id is None

    def save(self, *args, **kwargs) -> None:
        if self.generation_id is not None and (
            self.api_key_id is None or self.team_id is None or self.generation_created_at is None
        ):
            generation = self.generation
            self.api_key_id, self.team_id = generation.api_key_id, generation.team_id
            self.generation_created_at = generation.created_at
        super().save(*args, **kwargs)


class DiscrepancyEvent(models.Model):
    """The history of a discrepancy: every change of status, who made it and why."""

    discrepancy = models.ForeignKey(Discrepancy, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "id"]


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft"
    FINALIZED = "finalized"
    VOID = "void"


FROZEN_INVOICE_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.VOID)
# The only fields of a finalized invoice that may change, and only when it is being voided.
VOIDING_FIELDS = ("status", "voided_at", "voided_by", "void_reason")


class InvoiceFrozenError(DomainError):
    """A finalized or void invoice, or one of its lines, was about to change."""


class InvoiceQuerySet(models.QuerySet):
    """Bulk changes refuse frozen invoices: void them through billing.invoicing.voiding."""

    def update(self, **kwargs):
        if self.filter(status__in=FROZEN_INVOICE_STATUSES).exists():
            raise InvoiceFrozenError("Finalized and void invoices cannot be changed in bulk.")
        return super().update(**kwargs)

    def delete(self):
        if self.filter(status__in=FROZEN_INVOICE_STATUSES).exists():
            raise InvoiceFrozenError("Finalized and void invoices cannot be deleted.")
        return super().delete()


class InvoiceLineQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if self.filter(invoice__status__in=FROZEN_INVOICE_STATUSES).exists():
            raise InvoiceFrozenError("Lines of finalized and void invoices cannot be changed.")
        return super().update(**kwargs)

    def delete(self):
        if self.filter(invoice__status__in=FROZEN_INVOICE_STATUSES).exists():
            raise InvoiceFrozenError("Lines of finalized and void invoices cannot be deleted.")
        return super().delete()


class Invoice(models.Model):
    """A team's invoice for one calendar month (UTC)."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="invoices")
    period = models.DateField(help_text="First day of the billed month.")
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(max_digits=INVOICE_DIGITS, decimal_places=INVOICE_PLACES, default=Decimal("0.00"))
    markup = models.DecimalField(max_digits=INVOICE_DIGITS, decimal_places=INVOICE_PLACES, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=INVOICE_DIGITS, decimal_places=INVOICE_PLACES, default=Decimal("0.00"))
    verified_amount = models.DecimalField(max_digits=INVOICE_DIGITS, decimal_places=INVOICE_PLACES, default=Decimal("0.00"))
    # The usage billed (usage and late-usage lines, without adjustments): what verified_share shares.
    usage_amount = models.DecimalField(max_digits=INVOICE_DIGITS, decimal_places=INVOICE_PLACES, default=Decimal("0.00"))
    created_at = models.DateTimeField(default=timezone.now)
    drafted_at = models.DateTimeField(default=timezone.now)
    finalized_at = models.DateTimeField(null=True, blank=True)
    finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override_reason = models.TextField(blank=True, default="")
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    void_reason = models.TextField(blank=True, default="")
    # Why the last attempt to (re)draft this invoice failed; empty once a draft succeeds.
    draft_error = models.TextField(blank=True, default="")
    # Who issued the invoice and who it is addressed to, as they were when it was finalized: a
    # finalized invoice prints the same later, whatever the team or the settings say by then.
    issuer_name = models.CharField(max_length=200, blank=True, default="", editable=False)
    issuer_address = models.TextField(blank=True, default="", editable=False)
    bill_to_name = models.CharField(max_length=200, blank=True, default="", editable=False)
    bill_to_address = models.TextField(blank=True, default="", editable=False)
    markup_rate = models.DecimalField(
        max_digits=MARKUP_DIGITS, decimal_places=MARKUP_PLACES, default=Decimal("0"), editable=False
    )

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-period", "team"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "period"], condition=~Q(status="void"), name="invoice_one_live_per_team_period"
            )
        ]
        indexes = [
            models.Index(fields=["status", "period"], name="invoice_status_period"),
            # The finance list's order (Meta.ordering), across every team.
            models.Index(fields=["-period", "team"], name="invoice_period_team"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.team} {self.period:%Y-%m}"

    @property
    def verified_share(self) -> Decimal | None:
        """The verified part of the usage billed (usage and late-usage lines), 0 to 1; None
        when no usage is billed. Adjustments are decisions, neither verified nor usage."""
        return verified_share(verified=self.verified_amount, usage=self.usage_amount)

    def save(self, *args, **kwargs):
        """Refuses to change a stored finalized invoice, except to void it, and any void one."""
        stored = Invoice.objects.filter(pk=self.pk).first() if self.pk else None
        if stored is not None and stored.status == InvoiceStatus.VOID:
            raise InvoiceFrozenError(f"Invoice {stored} is void and cannot change.")
        if stored is not None and stored.status == InvoiceStatus.FINALIZED:
            changed = [
                field.attname
                for field in self._meta.concrete_fields
                if getattr(self, field.attname) != getattr(stored, field.attname)
            ]
            voiding = self.status == InvoiceStatus.VOID and all(
                name in VOIDING_FIELDS or name.removesuffix("_id") in VOIDING_FIELDS for name in changed
            )
            if changed and not voiding:
                raise InvoiceFrozenError(f"Invoice {stored} is finalized; it can only be voided.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if Invoice.objects.filter(pk=self.pk, status__in=FROZEN_INVOICE_STATUSES).exists():
            raise InvoiceFrozenError(f"Invoice {self} is {self.status} and cannot be deleted.")
        return super().delete(*args, **kwargs)


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        USAGE = "usage"
        LATE_USAGE = "late_usage"
        ADJUSTMENT = "adjustment"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.USAGE)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    model = models.CharField(max_length=200, blank=True, default="")
    description = models.CharField(max_length=500, blank=True, default="")
    # The key's name when the line was drafted: a finalized invoice prints it as it was then.
    key_name = models.CharField(max_length=200, blank=True, default="", editable=False)
    generations = models.BigIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)
    amount_exact = money_field(default=0)
    amount = models.DecimalField(max_digits=INVOICE_DIGITS, decimal_places=INVOICE_PLACES)
    verified_amount = models.DecimalField(max_digits=INVOICE_DIGITS, decimal_places=INVOICE_PLACES, default=Decimal("0.00"))
    # For late-usage lines: the finalized month the usage belongs to (see invoicing/late_usage.py).
    usage_period = models.DateField(null=True, blank=True)
    # For adjustment lines: the discrepancy it settles, so it is carried to exactly one invoice.
    discrepancy = models.OneToOneField(
        Discrepancy, null=True, blank=True, on_delete=models.PROTECT, related_name="adjustment_line"
    )

    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "api_key", "model", "id"]

    def _refuse_if_frozen(self, invoice_ids: list) -> None:
        if Invoice.objects.filter(pk__in=invoice_ids, status__in=FROZEN_INVOICE_STATUSES).exists():
            raise InvoiceFrozenError("Lines of finalized and void invoices cannot change.")

    def save(self, *args, **kwargs):
        """Refuses to add, move or change a line of a finalized or void invoice."""
        stored_invoice = InvoiceLine.objects.filter(pk=self.pk).values_list("invoice_id", flat=True).first()
        self._refuse_if_frozen([self.invoice_id, stored_invoice])
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_frozen([self.invoice_id])
        return super().delete(*args, **kwargs)


USAGE_KINDS = (InvoiceLine.Kind.USAGE, InvoiceLine.Kind.LATE_USAGE)


def verified_share(*, verified: Decimal, usage: Decimal) -> Decimal | None:
    """Share of the usage billed that the gateways confirmed: 0 to 1, or None when no usage
    is billed. Clamped, so no write-off or true-up can make it anything but a share."""
    if usage <= 0:
        return None
    return min(max(verified / usage, Decimal(0)), Decimal(1)).quantize(Decimal("0.0001"))


class InvoiceNumberSequence(models.Model):
    """The last number issued per year; locked row by row so numbers have no gaps."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)


# Alerts keep their models in their own package; imported here so Django registers them.
from billing.alerts.models import Alert, AlertDelivery, AlertKind  # noqa: E402, F401

# Coverage results live with the coverage code; imported here so Django registers them.
from billing.coverage.models import CoverageCheck, CoverageStatus, KeyDayCoverage  # noqa: E402, F401
