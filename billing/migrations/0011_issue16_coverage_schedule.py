"""The daily coverage check in the beat schedule, editable by staff (django-celery-beat).

At 00:45 UTC: OpenRouter's activity for a UTC day is best read about 30 minutes after the day
ends. Created only if missing; removed on reverse by name.
"""

from django.db import migrations

NAME = "Coverage: check each key's activity for the day that ended"
TASK = "billing.tasks.coverage.check_coverage_daily"
DAILY_AT_0045 = {"minute": "45", "hour": "0", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}
DESCRIPTION = (
    "Compares what the gateway billed each key per UTC day and model with Tally's records; "
    "files unrecorded_spend and unbilled_records findings."
)


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab = CrontabSchedule.objects.filter(timezone="UTC", **DAILY_AT_0045).first()
    crontab = crontab or CrontabSchedule.objects.create(timezone="UTC", **DAILY_AT_0045)
    PeriodicTask.objects.create(name=NAME, task=TASK, crontab=crontab, description=DESCRIPTION)


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_issue16_key_day_coverage"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
