"""What the finance admin pages share: badges, money cells, reason forms, period filters, and
recording Tally's own actions in the admin history (Recent actions, an object's History)."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from billing.invoicing.periods import period_bounds, period_of, period_parse, period_previous
from billing.money import money_text
from lib.errors import DomainError, admin_refusal


def badge(value: str, label: str) -> str:
    return format_html('<span class="tally-badge tally-badge-{}">{}</span>', value, label)


def money_cell(amount, currency: str = "USD") -> str:
    return format_html('<span class="tally-money">{}</span>', money_text(amount, currency))


def history_record(request: HttpRequest, obj: Model, message: str) -> None:
    """Record an action Tally took on `obj` for this user in the admin's history, so Recent
    actions and the object's History page show finalizing, voiding and deciding findings."""
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=[obj], action_flag=CHANGE, change_message=message, single_object=True
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), help_text="Kept in the history.")


class FinalizeForm(forms.Form):
    override = forms.BooleanField(
        required=False, label="Override: finalize even though generations of the period are not settled"
    )
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), help_text="Required with an override."
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("override") and not (cleaned.get("reason") or "").strip():
            raise ValidationError("Give the reason for the override.")
        return cleaned


def confirm_with_form(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    form_class: type[forms.Form],
    apply: Callable[[object, dict], str],
) -> HttpResponse | None:
    """An admin action with a confirmation page that asks for a reason (and options), then
    applies `apply` to each selected object and reports successes and refusals. `apply` returns
    the words recorded in the object's history."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done = 0
        for obj in queryset:
            try:
                history_record(request, obj, apply(obj, form.cleaned_data))
                done += 1
            except DomainError as error:
                admin_refusal(modeladmin, request, error, about=obj)
        if done:
            modeladmin.message_user(request, f"{title}: {done} done.", messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "form": form,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/billing/confirm_action.html", context)


class PeriodFilter(admin.SimpleListFilter):
    """The last twelve billing months."""

    title = "period"
    parameter_name = "period"
    field = "period"

    def lookups(self, request, model_admin):
        month = period_of(timezone.now().date())
        choices = []
        for _ in range(12):
            choices.append((f"{month:%Y-%m}", f"{month:%B %Y}"))
            month = period_previous(month)
        return choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            month = period_parse(self.value())
        except ValueError:
            return queryset  # a hand-made ?period= that is no month: ignored, as an unknown filter
        start, end = period_bounds(month)
        if self.field == "period":
            return queryset.filter(period=start.date())
        return queryset.filter(**{f"{self.field}__gte": start, f"{self.field}__lt": end})


class GenerationPeriodFilter(PeriodFilter):
    field = "generation__created_at"
