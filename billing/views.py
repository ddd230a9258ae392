"""Spend pages for team members: their teams' keys, one key's month, one generation's findings.

Every page looks keys and teams up through the user's memberships, so anything outside them
answers 404, exactly as a key that does not exist.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import ApiKey, Membership
from billing import key_page, selectors
from billing.alerts.budgets import budget_alerts_of_key
from billing.charts import daily_points, daily_spend_chart
from billing.comparison import generation_comparison
from billing.coverage.selectors import key_coverage_by_day
from billing.invoicing.periods import period_bounds, period_next, period_parse, period_previous
from billing.models import Discrepancy, Severity
from billing.spend_exports import spend_export_response
from generations.models import GatewayRecord, Generation
from lib.errors import DomainError

EARLIEST_YEAR = 2000
SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Month:
    """A calendar month in UTC, the period every spend page shows."""

    first_day: date

    @classmethod
    def current(cls) -> "Month":
        today = timezone.now().astimezone(UTC).date()
        return cls(today.replace(day=1))

    @property
    def end(self) -> date:
        """The first day of the next month (ranges are start-inclusive, end-exclusive)."""
        return period_next(self.first_day)

    @property
    def previous(self) -> "Month":
        return Month(period_previous(self.first_day))

    @property
    def next(self) -> "Month":
        return Month(self.end)

    @property
    def start_time(self) -> datetime:
        return period_bounds(self.first_day)[0]

    @property
    def end_time(self) -> datetime:
        return period_bounds(self.first_day)[1]

    @property
    def slug(self) -> str:
        return f"{self.first_day:%Y-%m}"

    @property
    def title(self) -> str:
        return f"{self.first_day:%B %Y}"


class MonthError(DomainError):
    """A ?month= that is not a month Tally can show."""


def month_from(request: HttpRequest) -> Month:
    """The month asked for with ?month=YYYY-MM, or the current one; never one in the future."""
    current = Month.current()
    text = request.GET.get("month", "").strip()
    if not text:
        return current
    try:
        asked = Month(period_parse(text))
    except ValueError:
        raise MonthError(f"“{text}” is not a month. Months are written YYYY-MM, for example {current.slug}.")
    if asked.first_day > current.first_day:
        raise MonthError(f"{asked.title} has not started yet, so there is no spend to show.")
    if asked.first_day.year < EARLIEST_YEAR:
        raise MonthError(f"Tally has no spend before {EARLIEST_YEAR}.")
    return asked


def with_month(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Passes the month asked for to the view as `month`; a bad one answers 400 with the reason."""

    @wraps(view)
    def view_with_month(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            month = month_from(request)
        except MonthError as error:
            context = {"message": str(error), "current_month": Month.current(), "path": request.path}
            return render(request, "billing/spend/bad_month.html", context, status=400)
        return view(request, *args, month=month, **kwargs)

    return view_with_month


def _month_navigation(month: Month) -> dict:
    current = Month.current()
    return {
        "month": month,
        "previous_month": month.previous,
        "next_month": month.next if month.next.first_day <= current.first_day else None,
        "is_current_month": month == current,
    }


def _visible_key(request: HttpRequest, slug: str) -> ApiKey:
    """The key if the user is in its team, with the user's role there in `viewer_role`: the
    membership that makes it visible is already joined, so the role costs no query of its own."""
    keys = (
        ApiKey.objects.visible_to(request.user)
        .select_related("team", "gateway")
        .annotate(viewer_role=F("team__memberships__role"))
    )
    return get_object_or_404(keys, slug=slug)


def _team_overviews(memberships: list[Membership], month: Month) -> list[dict]:
    """Each membership's team with its keys' spend in the month: a fixed number of queries."""
    teams = [membership.team for membership in memberships]
    keys = selectors.teams_key_spend(teams=teams, start=month.first_day, end=month.end)
    totals = selectors.teams_spend_total(teams=teams, start=month.first_day, end=month.end)
    return [
        {
            "team": membership.team,
            "role": membership.role,
            "keys": keys[membership.team_id],
            "total": totals[membership.team_id],
            "open_discrepancies": sum(line.open_discrepancies for line in keys[membership.team_id]),
        }
        for membership in memberships
    ]


@login_required
@require_GET
@with_month
def spend_index(request: HttpRequest, month: Month) -> HttpResponse:
    memberships = list(Membership.objects.filter(user=request.user).select_related("team").order_by("team__name"))
    if request.user.is_staff and not memberships:
        # Finance (and other staff) without a team: their home is the finance dashboard.
        return redirect("admin:index")
    teams = _team_overviews(memberships, month)
    return render(request, "billing/spend/index.html", {"teams": teams, **_month_navigation(month)})


@login_required
@require_GET
@with_month
def team_spend(request: HttpRequest, team_slug: str, month: Month) -> HttpResponse:
    membership = get_object_or_404(
        Membership.objects.select_related("team"), user=request.user, team__slug=team_slug
    )
    [overview] = _team_overviews([membership], month)
    return render(request, "billing/spend/team.html", {"overview": overview, **_month_navigation(month)})


class BudgetForm(forms.Form):
    monthly_budget = forms.DecimalField(
        label="Monthly budget (USD)",
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text="Leave empty for no budget.",
    )


@login_required
@require_GET
@with_month
def key_spend(request: HttpRequest, key_slug: str, month: Month) -> HttpResponse:
    api_key = _visible_key(request, key_slug)
    state = request.GET.get("state", "")
    if state and state not in selectors.GENERATION_STATE_FILTERS:
        state = ""  # an unknown filter shows every generation rather than an error page
    return _key_page(request, api_key, month, state=state)


def _key_page(
    request: HttpRequest, api_key: ApiKey, month: Month, *, state: str = "", budget_form=None, status: int = 200
) -> HttpResponse:
    role = api_key.viewer_role
    coverage = key_coverage_by_day(api_key=api_key, start=month.first_day, end=month.end, now=timezone.now())
    days, by_model = selectors.key_spend_by_day_and_model(api_key=api_key, start=month.first_day, end=month.end)
    points = daily_points(rows=days, start=month.first_day, end=month.end, coverage=coverage)
    # The month's total from its days, and its unrecorded spend from the days' coverage: the same
    # figures as key_spend_total, without reading them again.
    total = selectors.spend_rows_total(days, unrecorded=(day.unrecorded for day in coverage.values()))
    open_in_month = selectors.key_open_discrepancy_count(api_key=api_key, start=month.start_time, end=month.end_time)
    if budget_form is None and role == Membership.Role.ADMIN:
        budget_form = BudgetForm(initial={"monthly_budget": api_key.monthly_budget})
    recent = selectors.key_recent_generations(api_key=api_key, start=month.start_time, end=month.end_time, state=state)
    context = {
        "api_key": api_key,
        "role": role,
        "summary": selectors.KeySpend(api_key=api_key, spend=total, open_discrepancies=open_in_month),
        "points": points,
        "day_rows": key_page.day_rows(points),
        "coverage_days": key_page.coverage_days(coverage.values()),
        "differed_days": key_page.differed_days(coverage.values()),
        "chart": daily_spend_chart(points=points, chart_id="daily-spend", title=f"Spend per day, {month.title}"),
        "by_model": by_model,
        "model_rows": key_page.model_rows(by_model),
        "recent": recent,
        # The listed generations' links differ only in their last part: one reverse, not one each.
        "recent_rows": key_page.generation_rows(
            recent, url_prefix=reverse("spend:generation", args=[api_key.slug, 0]).removesuffix("0/")
        ),
        "state": state,
        "budget_alerts": budget_alerts_of_key(api_key=api_key, month=month.first_day),
        "state_filters": list(selectors.GENERATION_STATE_FILTERS),
        "budget_form": budget_form if role == Membership.Role.ADMIN else None,
        **_month_navigation(month),
    }
    return render(request, "billing/spend/key.html", context, status=status)


@login_required
@require_GET
@with_month
def key_spend_csv(request: HttpRequest, key_slug: str, month: Month) -> HttpResponse:
    api_key = _visible_key(request, key_slug)
    return spend_export_response(api_key=api_key, start=month.start_time, end=month.end_time, month_label=month.slug)


@login_required
@require_POST
def key_budget(request: HttpRequest, key_slug: str) -> HttpResponse:
    api_key = _visible_key(request, key_slug)
    if api_key.viewer_role != Membership.Role.ADMIN:
        raise PermissionDenied("Only team admins can change a key's budget.")
    try:
        month = month_from(request)
    except MonthError:
        month = Month.current()
    form = BudgetForm(request.POST)
    if not form.is_valid():
        # The page again, with what was typed and why it was refused, in the month it was typed in.
        return _key_page(request, api_key, month, budget_form=form, status=400)
    api_key.monthly_budget = form.cleaned_data["monthly_budget"]
    api_key.save(update_fields=["monthly_budget"])
    messages.success(request, f"Budget of {api_key.name} saved.")
    return redirect(f"{reverse('spend:key', args=[api_key.slug])}?month={month.slug}")


@login_required
@require_GET
def generation_detail(request: HttpRequest, key_slug: str, generation_id: int) -> HttpResponse:
    api_key = _visible_key(request, key_slug)
    generation = get_object_or_404(Generation.objects.select_related("gateway"), pk=generation_id, api_key=api_key)
    try:
        gateway_record = generation.gateway_record
    except GatewayRecord.DoesNotExist:
        gateway_record = None
    context = {
        "api_key": api_key,
        "generation": generation,
        "gateway_record": gateway_record,
        "comparison": generation_comparison(generation, gateway_record),
        "discrepancies": sorted(
            Discrepancy.objects.filter(generation=generation).select_related("status_changed_by"),
            key=lambda discrepancy: (SEVERITY_ORDER.get(discrepancy.severity, len(SEVERITY_ORDER)), discrepancy.kind),
        ),
        "month": Month(generation.created_at.astimezone(UTC).date().replace(day=1)),
    }
    return render(request, "billing/spend/generation.html", context)
