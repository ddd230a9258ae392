"""Teams, their members, the gateways they call through, their gateway keys and Tally access tokens."""

from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from accounts.secrets import (
    decrypt_secret,
    encrypt_secret,
    fingerprint,
    hash_access_token,
    new_access_token,
)
from accounts.webhooks import validate_webhook_url
from lib.constants import MARKUP_DIGITS, MARKUP_PLACES, MONEY_DIGITS, MONEY_PLACES

WEBHOOK_URL_LENGTH = 2000
# KushRouter's pricing page: every model at 30% off its list price.
KUSHROUTER_DISCOUNT = Decimal("0.30")


class Team(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    # Added on top of gateway charges on the team's invoices, as a fraction (0.05 = 5%).
    invoice_markup = models.DecimalField(
        max_digits=MARKUP_DIGITS,
        decimal_places=MARKUP_PLACES,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    # Who the invoices are addressed to; the team's name when empty.
    bill_to_name = models.CharField(max_length=200, blank=True, default="")
    bill_to_address = models.TextField(blank=True, default="", help_text="Postal address, one line per line.")
    # Alert settings: the alerts themselves are sent from the alerts package.
    monthly_budget = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Month-to-date spend past 80% and 100% of this (USD) alerts the team's admins.",
    )
    # A Slack-compatible incoming webhook that also gets the team's alerts. Its URL is a secret
    # (whoever has it can post to the channel), so it is encrypted like gateway keys: read and set
    # it through `alert_webhook_url`.
    alert_webhook_encrypted = models.TextField(blank=True, default="", editable=False)
    digest_opt_in = models.BooleanField(
        default=False, help_text="Mail the team's admins a daily digest of their new findings."
    )
    dispute_rate_threshold = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Alert when this share (0.25 = 25%) of the last hour's settled generations are disputed; "
        "empty: TALLY_DISPUTE_RATE_THRESHOLD.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    @property
    def alert_webhook_url(self) -> str:
        return decrypt_secret(self.alert_webhook_encrypted) if self.alert_webhook_encrypted else ""

    @alert_webhook_url.setter
    def alert_webhook_url(self, url: str) -> None:
        self.alert_webhook_encrypted = encrypt_secret(url) if url else ""

    @property
    def alert_webhook_host(self) -> str:
        """Where the team's alerts are posted, without the secret part of the URL."""
        return urlsplit(self.alert_webhook_url).hostname or ""

    def clean(self) -> None:
        super().clean()
        if self.alert_webhook_encrypted:
            url = self.alert_webhook_url
            try:
                if len(url) > WEBHOOK_URL_LENGTH:
                    raise ValidationError(f"A webhook URL has at most {WEBHOOK_URL_LENGTH} characters.")
                validate_webhook_url(url)
            except ValidationError as error:
                raise ValidationError({"alert_webhook_url": error.messages}) from None

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        VIEWER = "viewer"
        MEMBER = "member"
        ADMIN = "admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class Gateway(models.Model):
    """A configured connection to one gateway. An OpenRouter-compatible gateway is a second
    Gateway of kind openrouter with its own base URL."""

    class Kind(models.TextChoices):
        OPENROUTER = "openrouter", "OpenRouter"
        FASTROUTER = "fastrouter", "FastRouter"
        KUSHROUTER = "kushrouter", "KushRouter"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    base_url = models.URLField(max_length=500)
    # Optional account-wide credential for lookups; when empty, each generation is looked up
    # with the key that made it (KushRouter only allows that).
    lookup_secret_encrypted = models.TextField(blank=True, default="")
    # Optional management (provisioning) key of an OpenRouter account: it reads per-key daily
    # activity for coverage checks. Encrypted like the lookup credential.
    management_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    concurrency = models.PositiveIntegerField(default=16, validators=[MinValueValidator(1)])
    rate_limit_per_second = models.PositiveIntegerField(
        default=0, help_text="Lookups per second across all workers; 0 means no limit."
    )
    grace_seconds = models.PositiveIntegerField(
        default=600, help_text="How long after a generation's creation a 404 means 'not yet'."
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="How long the gateway keeps generation records, if limited (KushRouter: at least 7 days). "
        "FastRouter answers 404 for records that are not found or expired: set it there, so that expired "
        "records become expired_unverified instead of missing.",
    )
    lookup_path = models.CharField(
        max_length=200,
        blank=True,
        default="",
        validators=[RegexValidator(r"^/[A-Za-z0-9._~/-]*$", "A path starting with /, e.g. /v1/generation.")],
        help_text="Where the gateway answers generation lookups, e.g. /v1/generation for some OpenRouter-compatible "
        "gateways; empty for the kind's usual path (/api/v1/generation; KushRouter /api/v1/generations).",
    )
    discount = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="The gateway's discount off list price, as a fraction (0.30 = 30% off).",
    )
    tolerance_absolute = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=Decimal("0.000001")
    )
    tolerance_relative = models.DecimalField(max_digits=8, decimal_places=6, default=Decimal("0.001"))
    currency = models.CharField(max_length=3, default="USD")
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=500, blank=True, default="")
    # Set when the gateway refuses the management key (401/403): coverage checks stop, lookups go on.
    coverage_paused_at = models.DateTimeField(null=True, blank=True)
    coverage_pause_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @staticmethod
    def default_discount(kind: str) -> Decimal:
        """The discount a new gateway of this kind starts with (KushRouter sells at 30% off list
        price, as its pricing page says); overridable per gateway."""
        return KUSHROUTER_DISCOUNT if kind == Gateway.Kind.KUSHROUTER else Decimal("0")

    def set_lookup_secret(self, secret: str) -> None:
        self.lookup_secret_encrypted = encrypt_secret(secret) if secret else ""

    def lookup_secret(self) -> str:
        return decrypt_secret(self.lookup_secret_encrypted) if self.lookup_secret_encrypted else ""

    def set_management_secret(self, secret: str) -> None:
        self.management_secret_encrypted = encrypt_secret(secret) if secret else ""

    def management_secret(self) -> str:
        return decrypt_secret(self.management_secret_encrypted) if self.management_secret_encrypted else ""


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)

    def visible_to(self, user) -> "ApiKeyQuerySet":
        return self.filter(team__memberships__user=user)


class ApiKey(models.Model):
    """A gateway API key of a team. The secret is encrypted at rest and never shown again."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="api_keys")
    gateway = models.ForeignKey(Gateway, on_delete=models.PROTECT, related_name="api_keys")
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, editable=False)
    last_four = models.CharField(max_length=4, editable=False)
    secret_encrypted = models.TextField(editable=False)
    is_byok = models.BooleanField(default=False)
    monthly_budget = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The hash the gateway reports for this key (FastRouter's `api_key`, "a hash of the key used",
    # algorithm undocumented): pinned from the first generation that reports one, or set by an
    # operator; cleared to learn it again. Generations reporting another hash are key_mismatch.
    gateway_key_hash = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="The hash the gateway reports for this key (FastRouter). Learned from the first generation that "
        "reports one; set it if you know it, clear it to learn it again.",
    )
    # Set when the gateway refuses this key (401): lookups with it stop until an operator clears it.
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=500, blank=True, default="")
    # How spend that arrives from elsewhere names this key (generations/sources): the LiteLLM model
    # group names or deployment ids it serves, the api_base of those deployments, and the key's
    # name at OpenRouter, which Broadcast traces carry. Matched within the key's team only.
    litellm_models = models.JSONField(
        default=list,
        blank=True,
        help_text='LiteLLM model group names or deployment ids served with this key, e.g. ["gpt-4o-mini"].',
    )
    litellm_api_base = models.CharField(
        max_length=500, blank=True, default="", help_text="The api_base of this key's LiteLLM deployments."
    )
    broadcast_key_name = models.CharField(
        max_length=200, blank=True, default="", help_text="The key's name at OpenRouter, as Broadcast traces carry it."
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "fingerprint"], name="apikey_unique_gateway_fingerprint")
        ]

    def __str__(self) -> str:
        return f"{self.name} (…{self.last_four})"

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = encrypt_secret(secret)
        self.fingerprint = fingerprint(secret)
        self.last_four = secret[-4:]

    def secret(self) -> str:
        return decrypt_secret(self.secret_encrypted)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AccessToken(models.Model):
    """Tally's own API credential for a team's machines. Only its hash is stored."""

    class Scope(models.TextChoices):
        INGEST = "ingest"
        READ = "read"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=200, blank=True, default="")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, so people can tell their tokens apart without the secret.
    prefix = models.CharField(max_length=16, editable=False)
    scopes = models.CharField(max_length=100, help_text="Comma-separated: ingest, read.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["team", "-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.team})"

    @classmethod
    def issue(cls, *, team: Team, scopes: list[str], name: str = "") -> tuple["AccessToken", str]:
        """Create a token; returns it and the plaintext, which is never available again."""
        plaintext = new_access_token()
        token = cls.objects.create(
            team=team,
            name=name,
            token_hash=hash_access_token(plaintext),
            prefix=plaintext[:12],
            scopes=",".join(sorted(set(scopes))),
        )
        return token, plaintext

    @property
    def scope_list(self) -> list[str]:
        return [scope for scope in self.scopes.split(",") if scope]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope_list

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

