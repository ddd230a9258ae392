"""The daily spend chart: one point per day, round axis steps, accessible SVG."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from billing.charts import axis_step, daily_points, daily_spend_chart
from billing.selectors import empty_spend_row


def test_it_has_a_point_for_every_day_of_the_month_zero_where_nothing_was_spent():
    spent = replace(empty_spend_row(date(2026, 2, 3)), recorded_cost=Decimal("1.5"), charged_cost=Decimal("1.25"))
    points = daily_points(rows=[spent], start=date(2026, 2, 1), end=date(2026, 3, 1))
    assert [point.day.day for point in points] == list(range(1, 29))
    assert points[2].recorded == Decimal("1.5") and points[2].charged == Decimal("1.25")
    assert all(point.recorded == 0 for point in points if point.day.day != 3)


def test_it_picks_round_axis_steps_that_cover_the_highest_day():
    assert axis_step(Decimal("0.18")) == Decimal("0.05")
    assert axis_step(Decimal("37")) == Decimal("10")
    assert axis_step(Decimal("0.0000021")) == Decimal("0.000001")
    for highest in (Decimal("0.18"), Decimal("37"), Decimal("999"), Decimal("0.0000021")):
        assert axis_step(highest) * 4 >= highest


def test_it_titles_and_describes_the_chart_and_escapes_what_it_is_given():
    points = daily_points(rows=[], start=date(2026, 4, 1), end=date(2026, 5, 1))
    svg = daily_spend_chart(points=points, chart_id="c", title="Spend <per> day")
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert '<title id="c-title">Spend &lt;per&gt; day</title>' in svg
    assert "from April 1 to April 30" in svg
    assert svg.count("<g><title>") == 30
