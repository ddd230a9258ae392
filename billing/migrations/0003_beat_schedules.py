"""Default beat schedules, editable by staff in the admin (django-celery-beat).

Created only if missing, so schedules staff have changed are never overwritten; removed on
reverse by name.
"""

from django.db import migrations

EVERY_MINUTE = {"every": 1, "period": "minutes"}
EVERY_TEN_MINUTES = {"every": 10, "period": "minutes"}
DAILY_AT_0330 = {"minute": "30", "hour": "3", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}
MONTHLY_ON_THE_FIRST_AT_0200 = {"minute": "0", "hour": "2", "day_of_month": "1", "month_of_year": "*", "day_of_week": "*"}

TASKS = (
    (
        "Reconciliation: sweep due generations",
        "billing.tasks.reconciliation.sweep_due_generations",
        "interval",
        EVERY_MINUTE,
        "Claims due pending generations and queues them in batches per gateway.",
    ),
    (
        "Reconciliation: flag retention risk",
        "billing.tasks.reconciliation.flag_retention_risk",
        "crontab",
        DAILY_AT_0330,
        "Flags pending generations close to their gateway's retention limit.",
    ),
    (
        "Invoices: draft last month",
        "billing.tasks.invoicing.draft_previous_month_invoices",
        "crontab",
        MONTHLY_ON_THE_FIRST_AT_0200,
        "Drafts every team's invoice for the month just ended (UTC).",
    ),
    (
        "Invoices: redraft open drafts",
        "billing.tasks.invoicing.redraft_open_invoices",
        "interval",
        EVERY_TEN_MINUTES,
        "Rebuilds draft invoices as reconciliation proceeds.",
    ),
)


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, kind, schedule, description in TASKS:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        if kind == "interval":
            interval = IntervalSchedule.objects.filter(**schedule).first() or IntervalSchedule.objects.create(**schedule)
            PeriodicTask.objects.create(name=name, task=task, interval=interval, description=description)
        else:
            crontab = CrontabSchedule.objects.filter(timezone="UTC", **schedule).first()
            crontab = crontab or CrontabSchedule.objects.create(timezone="UTC", **schedule)
            PeriodicTask.objects.create(name=name, task=task, crontab=crontab, description=description)


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_finance_group"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
