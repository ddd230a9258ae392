"""The daily findings digest at 06:00 UTC, editable by staff in the admin (django-celery-beat).
Created only if missing; removed on reverse by name."""

from django.db import migrations

NAME = "Alerts: daily findings digest"
TASK = "billing.tasks.alerts.send_daily_digests"
DAILY_AT_0600 = {"minute": "0", "hour": "6", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab = CrontabSchedule.objects.filter(timezone="UTC", **DAILY_AT_0600).first()
    crontab = crontab or CrontabSchedule.objects.create(timezone="UTC", **DAILY_AT_0600)
    PeriodicTask.objects.create(
        name=NAME, task=TASK, crontab=crontab, description="Mails yesterday's new findings to finance and team admins."
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_issue19_alerts"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
