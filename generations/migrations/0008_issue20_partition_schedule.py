"""The daily partition job in the beat schedule, editable by staff (django-celery-beat).

At 01:15 UTC: creates this month's and the coming months' partitions (TALLY_PARTITION_MONTHS_AHEAD)
and moves rows waiting in the DEFAULT partitions; a no-op when all exist and on SQLite. Daily,
not monthly, so that a missed run costs nothing. Created only if missing; removed on reverse by name.
"""

from django.db import migrations

NAME = "Partitions: create the coming months' partitions of generations"
TASK = "generations.tasks.ensure_month_partitions"
DAILY_AT_0115 = {"minute": "15", "hour": "1", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}
DESCRIPTION = "Creates this month's and the coming months' partitions of generations and gateway records (PostgreSQL)."


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab = CrontabSchedule.objects.filter(timezone="UTC", **DAILY_AT_0115).first()
    crontab = crontab or CrontabSchedule.objects.create(timezone="UTC", **DAILY_AT_0115)
    PeriodicTask.objects.create(name=NAME, task=TASK, crontab=crontab, description=DESCRIPTION)


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0007_issue20_partition_by_month"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
