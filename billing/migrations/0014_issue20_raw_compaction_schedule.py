"""The monthly compaction of old raw gateway bodies in the beat schedule (django-celery-beat).

At 03:00 UTC on the 5th, after the month's invoices are usually finalized; does nothing while
TALLY_RAW_RETENTION_MONTHS is 0 (the default). Created only if missing; removed on reverse by name.
"""

from django.db import migrations

NAME = "Retention: compact old months' raw gateway bodies"
TASK = "billing.tasks.raw_bodies.compact_old_raw_bodies"
MONTHLY_ON_5TH_AT_0300 = {"minute": "0", "hour": "3", "day_of_month": "5", "month_of_year": "*", "day_of_week": "*"}
DESCRIPTION = (
    "Replaces the raw bodies of settled months past TALLY_RAW_RETENTION_MONTHS by their SHA-256 and size; "
    "the normalised columns invoices and audits read stay."
)


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab = CrontabSchedule.objects.filter(timezone="UTC", **MONTHLY_ON_5TH_AT_0300).first()
    crontab = crontab or CrontabSchedule.objects.create(timezone="UTC", **MONTHLY_ON_5TH_AT_0300)
    PeriodicTask.objects.create(name=NAME, task=TASK, crontab=crontab, description=DESCRIPTION)


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0013_merge_coverage"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
