"""The spend pages: who sees what, and whether the numbers shown are the sums of the generations."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ApiKey, Membership, Team
from billing.coverage.models import CoverageStatus, KeyDayCoverage
from billing.templatetags.money import money, percent
from generations.models import Generation, GenerationState
from tests.billing.spend_data import (
    day_of,
    generation_dispute,
    generations_add,
    key_create,
    month_slug,
    month_start,
    spend_world,
)

pytestmark = pytest.mark.django_db


def amount_of(generations: list[Generation]) -> Decimal:
    """What the pages call spend, computed from the generations themselves: the charged cost
    where verified, the recorded cost otherwise."""
    return sum(
        (g.charged_cost if g.state == GenerationState.VERIFIED else g.cost for g in generations),
        Decimal(0),
    )


def verified_share_of(generations: list[Generation]) -> Decimal:
    verified = sum((g.charged_cost for g in generations if g.state == GenerationState.VERIFIED), Decimal(0))
    return verified / amount_of(generations)


@pytest.fixture
def world():
    return spend_world()


@pytest.fixture
def month_of_spend(world):
    """This month: verified, pending and disputed generations on two models over three days of
    the key, a little on the second key, and some of last month's and another team's spend."""
    start = month_start()
    generations = [
        *generations_add(world.key, created_at=start, cost="0.012", state="verified", charged="0.0125", count=4),
        *generations_add(
            world.key,
            created_at=start + timedelta(days=1, hours=3),
            cost="1.25",
            model="anthropic/claude-sonnet-4",
            state="verified",
            charged="1.25",
            count=3,
            tokens=(9000, 2100),
        ),
        *generations_add(world.key, created_at=start + timedelta(days=2, hours=5), cost="0.0000375", count=5),
    ]
    disputed = generations_add(world.key, created_at=start + timedelta(days=2, hours=9), cost="0.40")[0]
    generation_dispute(disputed, charged="0.52")
    disputed.refresh_from_db()
    generations.append(disputed)
    second = generations_add(world.second_key, created_at=start + timedelta(hours=1), cost="3.10", count=2)
    generations_add(world.key, created_at=month_start(1) + timedelta(days=4), cost="7.77", count=2)
    generations_add(world.other_key, created_at=start, cost="99.00")
    return {"key": generations, "second_key": second, "disputed": disputed}


def generation_raw_id(generation: Generation) -> str:
    return f"&quot;id&quot;: &quot;{generation.external_id}&quot;"


def key_url(api_key: ApiKey, **query: str) -> str:
    url = reverse("spend:key", args=[api_key.slug])
    return url + ("?" + "&".join(f"{name}={value}" for name, value in query.items()) if query else "")


@pytest.mark.parametrize(
    "url_name, arguments",
    [("spend:index", lambda w: []), ("spend:team", lambda w: [w.team.slug]), ("spend:key", lambda w: [w.key.slug])],
)
def test_it_sends_anonymous_visitors_to_the_login_page(client, world, url_name, arguments):
    url = reverse(url_name, args=arguments(world))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_it_lists_the_members_teams_keys_with_this_months_numbers(client, world, month_of_spend):
    client.force_login(world.member)
    response = client.get(reverse("spend:index"))
    assert response.status_code == 200
    [overview] = response.context["teams"]
    lines = {line.api_key: line for line in overview["keys"]}
    assert set(lines) == {world.key, world.second_key}

    key_generations = month_of_spend["key"]
    expected_key_amount = amount_of(key_generations)
    assert lines[world.key].spend.amount == expected_key_amount
    assert lines[world.key].spend.verified_share == verified_share_of(key_generations)
    assert lines[world.key].budget_used == expected_key_amount / Decimal("50.00")
    assert lines[world.key].open_discrepancies == 1
    assert lines[world.second_key].spend.amount == Decimal("6.20")
    assert lines[world.second_key].budget_used is None

    everything = key_generations + month_of_spend["second_key"]
    assert overview["total"].amount == amount_of(everything)
    page = response.content.decode()
    for shown in (money(expected_key_amount), money(amount_of(everything)), percent(verified_share_of(everything))):
        assert shown in page
    assert f"…{world.key.last_four}" in page
    assert world.other_key.name not in page


def test_it_shows_a_viewer_the_same_numbers_read_only(client, world, month_of_spend):
    client.force_login(world.viewer)
    index = client.get(reverse("spend:index"))
    assert {line.api_key for line in index.context["teams"][0]["keys"]} == {world.key, world.second_key}
    response = client.get(key_url(world.key))
    assert response.status_code == 200
    assert response.context["summary"].spend.amount == amount_of(month_of_spend["key"])
    assert response.context["budget_form"] is None
    assert "Read-only" in response.content.decode()
    assert reverse("spend:key-budget", args=[world.key.slug]) not in response.content.decode()


def test_it_answers_404_for_another_teams_key_team_and_generation(client, world, month_of_spend):
    client.force_login(world.outsider)
    disputed = month_of_spend["disputed"]
    urls = [
        key_url(world.key),
        reverse("spend:team", args=[world.team.slug]),
        reverse("spend:key-csv", args=[world.key.slug]),
        reverse("spend:generation", args=[world.key.slug, disputed.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("spend:team", args=["no-such-team"])).status_code == 404
    assert client.get(key_url(world.other_key)).status_code == 200


def test_it_shows_a_keys_month_by_day_and_by_model_as_the_sums_of_its_generations(client, world, month_of_spend):
    client.force_login(world.member)
    response = client.get(key_url(world.key))
    assert response.status_code == 200
    generations = month_of_spend["key"]

    summary = response.context["summary"].spend
    assert summary.recorded_cost == sum((g.cost for g in generations), Decimal(0))
    assert summary.charged_cost == sum((g.charged_cost or Decimal(0) for g in generations), Decimal(0))
    assert summary.generations == len(generations)

    recorded_by_day, charged_by_day = defaultdict(Decimal), defaultdict(Decimal)
    for generation in generations:
        recorded_by_day[day_of(generation.created_at)] += generation.cost
        charged_by_day[day_of(generation.created_at)] += generation.charged_cost or Decimal(0)
    points = response.context["points"]
    assert points[0].day == day_of(month_start())
    assert len(points) in (28, 29, 30, 31)
    for point in points:
        assert point.recorded == recorded_by_day.get(point.day, Decimal(0))
        assert point.charged == charged_by_day.get(point.day, Decimal(0))

    by_model = {row.key: row for row in response.context["by_model"]}
    assert set(by_model) == {g.model for g in generations}
    for model, row in by_model.items():
        of_model = [g for g in generations if g.model == model]
        assert row.generations == len(of_model)
        assert row.tokens == sum(g.tokens_prompt + g.tokens_completion for g in of_model)
        assert row.recorded_cost == sum((g.cost for g in of_model), Decimal(0))
        assert row.verified_share == verified_share_of(of_model)

    page = response.content.decode()
    assert "<svg" in page and "<title id=\"daily-spend-title\">" in page and "<desc id=\"daily-spend-desc\">" in page
    for shown in (money(summary.amount), money(summary.recorded_cost), money(summary.charged_cost)):
        assert shown in page
    assert money(Decimal("0.0000375")) == "$0.0000375" and "$0.0000375" in page


def test_it_lists_the_latest_50_generations_and_shows_what_was_found_on_a_disputed_one(
    client, world, month_of_spend
):
    client.force_login(world.member)
    generations_add(world.key, created_at=month_start() + timedelta(days=3), cost="0.01", count=60, spacing=timedelta(seconds=7))
    response = client.get(key_url(world.key))
    recent = response.context["recent"]
    assert len(recent) == 50
    assert [g.created_at for g in recent] == sorted((g.created_at for g in recent), reverse=True)
    newest_expected = Generation.objects.filter(api_key=world.key, created_at__gte=month_start()).order_by("-created_at")[:50]
    assert [g.pk for g in recent] == [g.pk for g in newest_expected]

    disputed = month_of_spend["disputed"]
    detail_url = reverse("spend:generation", args=[world.key.slug, disputed.pk])
    detail = client.get(detail_url)
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "Cost differs" in page and "The cost we recorded is not what the gateway charged." in page
    assert money(Decimal("0.52")) in page and money(Decimal("0.40")) in page
    assert "answer, exactly as received" in page and generation_raw_id(disputed) in page


def test_it_links_each_disputed_generation_in_the_recent_list_to_what_was_found(client, world, month_of_spend):
    client.force_login(world.viewer)
    disputed = month_of_spend["disputed"]
    page = client.get(key_url(world.key)).content.decode()
    assert reverse("spend:generation", args=[world.key.slug, disputed.pk]) in page
    assert "badge--disputed" in page and "Cost differs" in page
    assert "badge--verified" in page and "badge--pending" in page


def test_it_answers_404_for_a_generation_of_another_key_under_this_keys_address(client, world, month_of_spend):
    client.force_login(world.member)
    second = month_of_spend["second_key"][0]
    assert client.get(reverse("spend:generation", args=[world.key.slug, second.pk])).status_code == 404
    assert client.get(reverse("spend:generation", args=[world.second_key.slug, second.pk])).status_code == 200


def test_it_moves_between_months_and_stops_at_the_current_one(client, world, month_of_spend):
    client.force_login(world.member)
    current = client.get(key_url(world.key))
    assert current.context["next_month"] is None
    previous_slug = month_slug(month_start(1))
    assert f'href="?month={previous_slug}"' in current.content.decode()

    previous = client.get(key_url(world.key, month=previous_slug))
    assert previous.status_code == 200
    assert previous.context["month"].slug == previous_slug
    assert previous.context["summary"].spend.recorded_cost == Decimal("15.54")
    assert previous.context["summary"].spend.generations == 2
    assert previous.context["next_month"].slug == month_slug(month_start())
    assert f'href="?month={month_slug(month_start())}"' in previous.content.decode()
    assert [point.day for point in previous.context["points"]][0] == day_of(month_start(1))

    index_previous = client.get(reverse("spend:index") + f"?month={previous_slug}")
    lines = {line.api_key: line for line in index_previous.context["teams"][0]["keys"]}
    assert lines[world.key].spend.amount == Decimal("15.54")
    assert lines[world.second_key].spend.amount == Decimal(0)


@pytest.mark.parametrize("month", ["2026-13", "May", "2026-5-1", "1999-12"])
def test_it_refuses_a_month_that_is_not_one_with_a_clear_message(client, world, month):
    client.force_login(world.member)
    response = client.get(key_url(world.key, month=month))
    assert response.status_code == 400
    assert "Months are written YYYY-MM" in response.content.decode() or "no spend before" in response.content.decode()


def test_it_refuses_a_month_that_has_not_started(client, world):
    client.force_login(world.member)
    upcoming = month_start() + timedelta(days=40)
    response = client.get(reverse("spend:index") + f"?month={upcoming:%Y-%m}")
    assert response.status_code == 400
    assert "has not started yet" in response.content.decode()


def test_it_lets_a_team_admin_change_a_keys_budget(client, world, month_of_spend):
    client.force_login(world.admin)
    page = client.get(key_url(world.key))
    assert page.context["budget_form"] is not None
    response = client.post(reverse("spend:key-budget", args=[world.key.slug]), {"monthly_budget": "125.50"}, follow=True)
    assert response.status_code == 200
    world.key.refresh_from_db()
    assert world.key.monthly_budget == Decimal("125.50")
    assert response.context["summary"].budget_used == amount_of(month_of_spend["key"]) / Decimal("125.50")


def test_it_keeps_the_budget_and_says_why_when_the_value_is_bad(client, world):
    client.force_login(world.admin)
    last_month = month_slug(month_start(1))
    url = reverse("spend:key-budget", args=[world.key.slug]) + f"?month={last_month}"
    response = client.post(url, {"monthly_budget": "-4"}, follow=True)
    world.key.refresh_from_db()
    assert world.key.monthly_budget == Decimal("50.00")
    page = response.content.decode()
    assert response.status_code == 400 and "The budget was not changed" in page
    assert 'value="-4"' in page and response.context["month"].slug == last_month  # what was typed, and the month
    saved = client.post(url, {"monthly_budget": "75"})
    assert saved["Location"].endswith(f"?month={last_month}")


def test_it_refuses_budget_changes_from_members_viewers_and_other_teams(client, world):
    url = reverse("spend:key-budget", args=[world.key.slug])
    for user, status in ((world.member, 403), (world.viewer, 403), (world.outsider, 404)):
        client.force_login(user)
        assert client.post(url, {"monthly_budget": "1.00"}).status_code == status
    world.key.refresh_from_db()
    assert world.key.monthly_budget == Decimal("50.00")


def test_it_shows_a_user_without_a_team_how_to_get_one(client, world):
    from tests.billing.spend_data import user_create

    client.force_login(user_create("newcomer"))
    response = client.get(reverse("spend:index"))
    assert response.status_code == 200
    assert "You are not in a team yet" in response.content.decode()


def test_it_reads_the_key_page_in_a_bounded_number_of_queries(
    client, world, month_of_spend, django_assert_max_num_queries, settings
):
    client.force_login(world.member)
    generations_add(world.key, created_at=month_start() + timedelta(days=1), cost="0.01", count=300, spacing=timedelta(seconds=3))
    # The user (the session comes from the cache), the key with its team, gateway and the user's
    # role in one, the month by day and by model, its open findings, the listed generations with
    # their findings' kinds, the budget alerts, plus two for coverage: stored coverage per day and open
    # unrecorded spend per day (their sum is the month's). The index page adds one per team (its
    # open unrecorded spend). Without a Redis cache the session is one more query, and off
    # PostgreSQL the findings' kinds.
    session_queries = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
    kinds_queries = 0 if connection.vendor == "postgresql" else 1
    with django_assert_max_num_queries(9 + session_queries + kinds_queries):
        assert client.get(key_url(world.key)).status_code == 200
    with django_assert_max_num_queries(8 + session_queries):
        assert client.get(reverse("spend:index")).status_code == 200


def test_a_keys_generations_filter_by_state_and_the_badge_counts_the_month_shown(client, world, month_of_spend):
    client.force_login(world.viewer)
    last = generations_add(world.key, created_at=month_start(1) + timedelta(days=6), cost="0.30")[0]
    generation_dispute(last, charged="0.90")  # last month's dispute: not this month's badge
    response = client.get(key_url(world.key))
    assert response.context["summary"].open_discrepancies == 1
    page = response.content.decode()
    assert f'href="?month={month_slug(month_start())}&amp;state=disputed#recent-heading"' in page

    disputed = client.get(key_url(world.key), {"state": "disputed"}).context["recent"]
    assert [g.pk for g in disputed] == [month_of_spend["disputed"].pk]
    pending = client.get(key_url(world.key), {"state": "pending"}).context["recent"]
    assert pending and {g.state for g in pending} == {GenerationState.PENDING}
    assert client.get(key_url(world.key), {"state": "missing"}).context["recent"] == []
    everything = client.get(key_url(world.key), {"state": "<script>"}).context["recent"]
    assert len(everything) > len(pending)  # an unknown filter shows all, never an error

    previous = client.get(key_url(world.key), {"month": month_slug(month_start(1))})
    assert previous.context["summary"].open_discrepancies == 1
    assert [g.pk for g in client.get(
        key_url(world.key), {"month": month_slug(month_start(1)), "state": "disputed"}
    ).context["recent"]] == [last.pk]


def test_the_index_reads_the_same_number_of_queries_for_one_team_as_for_many(client, world, month_of_spend):
    client.force_login(world.admin)
    url = reverse("spend:index")
    client.get(url)  # warm up: sessions, content types
    with CaptureQueriesContext(connection) as one_team:
        client.get(url)

    for index in range(4):
        team = Team.objects.create(name=f"Team {index}", slug=f"team-{index}")
        Membership.objects.create(user=world.admin, team=team, role=Membership.Role.MEMBER)
        generations_add(key_create(team=team, gateway=world.gateway, name=f"Key {index}"), created_at=month_start(), cost="1")
    with CaptureQueriesContext(connection) as five_teams:
        response = client.get(url)

    assert len(response.context["teams"]) == 5
    assert len(five_teams) == len(one_team)


def test_markup_in_names_and_reasons_reaches_the_key_page_only_escaped(client, world):
    """The page's rows are written in Python (billing/key_page.py): every value in them is escaped."""
    script = "<script>alert('tally')</script>"
    escaped = "&lt;script&gt;alert(&#x27;tally&#x27;)&lt;/script&gt;"
    start = month_start(1)
    disputed = generations_add(
        world.key, created_at=start, cost="0.40", model=f"openai/{script}", external_id=f"gen-{script}"
    )[0]
    generation_dispute(disputed, charged="0.52")
    KeyDayCoverage.objects.create(
        api_key=world.key, team=world.team, day=start.date(), status=CoverageStatus.NOT_CHECKABLE, reason=script
    )
    client.force_login(world.member)

    page = client.get(key_url(world.key, month=month_slug(start))).content.decode()

    assert script not in page
    assert page.count(f"openai/{escaped}") >= 3  # the model table, and the generation's cell and title
    assert f"gen-{escaped}" in page
    assert f"({escaped})" in page  # the coverage strip's and the daily table's reason
