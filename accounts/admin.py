"""Admin for teams, members, gateways, keys and access tokens. Secrets are never shown:
key and gateway secrets are write-only fields, access tokens show only their prefix."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AccessToken, ApiKey, Gateway, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


class TeamForm(forms.ModelForm):
    alert_webhook_url = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        help_text="A Slack-compatible incoming webhook (https) that also gets the team's alerts. "
        "Stored encrypted and write-only: leave empty to keep the current one.",
    )
    remove_alert_webhook = forms.BooleanField(required=False, help_text="Stop posting the team's alerts to its webhook.")

    class Meta:
        model = Team
        exclude = ("alert_webhook_encrypted",)

    def clean(self):
        cleaned = super().clean()
        url = (cleaned.get("alert_webhook_url") or "").strip()
        if url and cleaned.get("remove_alert_webhook"):
            self.add_error("remove_alert_webhook", "Set a new webhook or remove it, not both.")
        return cleaned

    def _post_clean(self):
        # The model validates the URL (Team.clean): set it before the model is cleaned.
        if self.cleaned_data.get("remove_alert_webhook"):
            self.instance.alert_webhook_url = ""
        elif url := (self.cleaned_data.get("alert_webhook_url") or "").strip():
            self.instance.alert_webhook_url = url
        super()._post_clean()


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ("name", "slug", "invoice_markup", "monthly_budget", "digest_opt_in", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]
    readonly_fields = ("alert_webhook",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "invoice_markup", "created_at")}),
        (
            "Alerts",
            {
                "fields": (
                    "monthly_budget",
                    "alert_webhook",
                    "alert_webhook_url",
                    "remove_alert_webhook",
                    "digest_opt_in",
                    "dispute_rate_threshold",
                )
            },
        ),
    )

    @admin.display(description="Current webhook")
    def alert_webhook(self, team: Team) -> str:
        return f"set, posting to {team.alert_webhook_host}" if team.alert_webhook_encrypted else "none"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "role", "created_at")
    list_filter = ("role", "team")
    search_fields = ("user__username", "team__name")
    raw_id_fields = ("user",)
    list_select_related = ("user", "team")


class GatewayForm(forms.ModelForm):
    lookup_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the current one.",
    )
    management_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="OpenRouter management key for coverage checks. Write-only: leave empty to keep the current one.",
    )

    class Meta:
        model = Gateway
        exclude = ("lookup_secret_encrypted",)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("management_secret") and cleaned.get("kind") != Gateway.Kind.OPENROUTER:
            self.add_error("management_secret", "Only openrouter gateways have an activity endpoint to check.")
        return cleaned

    def save(self, commit: bool = True) -> Gateway:
        if self.cleaned_data.get("lookup_secret"):
            self.instance.set_lookup_secret(self.cleaned_data["lookup_secret"])
        if self.cleaned_data.get("management_secret"):
            self.instance.set_management_secret(self.cleaned_data["management_secret"].strip())
        return super().save(commit=commit)


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    form = GatewayForm
    list_display = (
        "slug", "name", "kind", "base_url", "lookup_path", "concurrency", "retention_days", "paused_at", "pause_reason"
    )
    list_filter = ("kind",)
    search_fields = ("slug", "name")
    actions = ["pause", "unpause", "resume_coverage"]
    readonly_fields = ("coverage_paused_at", "coverage_pause_reason")

    @admin.action(description="Resume coverage checks on the selected gateways", permissions=["change"])
    def resume_coverage(self, request, queryset: QuerySet[Gateway]) -> None:
        count = queryset.filter(coverage_paused_at__isnull=False).update(coverage_paused_at=None, coverage_pause_reason="")
        self.message_user(request, f"Coverage checks resumed on {count} gateway(s).", messages.SUCCESS)

    def get_changeform_initial_data(self, request) -> dict:
        """A new KushRouter gateway starts at its 30% discount (`?kind=kushrouter`)."""
        initial = super().get_changeform_initial_data(request)
        if "discount" not in initial and initial.get("kind"):
            initial["discount"] = Gateway.default_discount(initial["kind"])
        return initial

    @admin.action(description="Pause lookups on the selected gateways", permissions=["change"])
    def pause(self, request, queryset: QuerySet[Gateway]) -> None:
        count = queryset.filter(paused_at__isnull=True).update(
            paused_at=timezone.now(), pause_reason=f"Paused by {request.user} in the admin."
        )
        self.message_user(request, f"{count} gateway(s) paused.", messages.SUCCESS)

    @admin.action(description="Resume lookups on the selected gateways", permissions=["change"])
    def unpause(self, request, queryset: QuerySet[Gateway]) -> None:
        count = queryset.filter(paused_at__isnull=False).update(paused_at=None, pause_reason="")
        self.message_user(request, f"{count} gateway(s) resumed.", messages.SUCCESS)


class ApiKeyAddForm(forms.ModelForm):
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False), help_text="Stored encrypted; never shown again."
    )

    class Meta:
        model = ApiKey
        fields = ("team", "gateway", "name", "slug", "secret", "is_byok", "monthly_budget")

    def clean(self):
        cleaned = super().clean()
        secret = (cleaned.get("secret") or "").strip()
        if secret:
            self.instance.set_secret(secret)
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "team", "gateway", "masked", "is_byok", "monthly_budget", "revoked_at", "paused_at")
    list_filter = ("gateway", "is_byok", "team")
    search_fields = ("name", "slug")
    list_select_related = ("team", "gateway")
    readonly_fields = ("masked", "created_at")
    fields = (
        "team",
        "gateway",
        "name",
        "slug",
        "masked",
        "is_byok",
        "monthly_budget",
        "litellm_models",
        "litellm_api_base",
        "broadcast_key_name",
        "revoked_at",
        "paused_at",
        "pause_reason",
        "gateway_key_hash",
        "created_at",
    )
    actions = ["unpause", "forget_gateway_key_hash"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
            kwargs["fields"] = ApiKeyAddForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ApiKeyAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    @admin.display(description="Key")
    def masked(self, api_key: ApiKey) -> str:
        return f"…{api_key.last_four}"

    @admin.action(description="Resume lookups with the selected keys", permissions=["change"])
    def unpause(self, request, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(paused_at__isnull=False).update(paused_at=None, pause_reason="")
        self.message_user(request, f"{count} key(s) resumed.", messages.SUCCESS)

    @admin.action(description="Forget the gateway's hash of the selected keys (learn it again)", permissions=["change"])
    def forget_gateway_key_hash(self, request, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.exclude(gateway_key_hash="").update(gateway_key_hash="")
        self.message_user(request, f"{count} key hash(es) forgotten; the next generation reporting one pins it.", messages.SUCCESS)


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `create_access_token` (shown once); here they are listed and revoked."""

    list_display = ("prefix", "name", "team", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("team",)
    search_fields = ("prefix", "name")
    list_select_related = ("team",)
    fields = ("team", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("team", "prefix", "scopes", "created_at", "last_used_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset: QuerySet[AccessToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
