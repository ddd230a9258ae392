"""The default beat schedules exist after migrating, pointing at tasks Celery knows."""

import pytest
from django_celery_beat.models import PeriodicTask

from config.celery_app import app


@pytest.mark.django_db
def test_it_schedules_the_sweep_the_retention_check_and_the_invoice_drafts():
    tasks = {task.task: task for task in PeriodicTask.objects.select_related("interval", "crontab")}
    sweep = tasks["billing.tasks.reconciliation.sweep_due_generations"]
    assert (sweep.interval.every, sweep.interval.period) == (1, "minutes")
    assert tasks["billing.tasks.reconciliation.flag_retention_risk"].crontab.day_of_month == "*"
    monthly = tasks["billing.tasks.invoicing.draft_previous_month_invoices"].crontab
    assert (monthly.minute, monthly.hour, monthly.day_of_month, str(monthly.timezone)) == ("0", "2", "1", "UTC")
    assert tasks["billing.tasks.invoicing.redraft_open_invoices"].interval.every == 10
    app.loader.import_default_modules()
    assert set(tasks) <= set(app.tasks)


@pytest.mark.django_db
def test_it_schedules_the_partition_job_daily_and_the_raw_body_compaction_monthly():
    tasks = {task.task: task for task in PeriodicTask.objects.select_related("crontab")}
    partitions = tasks["generations.tasks.ensure_month_partitions"].crontab
    compaction = tasks["billing.tasks.raw_bodies.compact_old_raw_bodies"].crontab
    assert (partitions.minute, partitions.hour, partitions.day_of_month) == ("15", "1", "*")
    assert (compaction.minute, compaction.hour, compaction.day_of_month) == ("0", "3", "5")
    app.loader.import_default_modules()
    assert {"generations.tasks.ensure_month_partitions", "billing.tasks.raw_bodies.compact_old_raw_bodies"} <= set(app.tasks)
