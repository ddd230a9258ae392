"""The daily beat schedule that refreshes the gateways' own price lists (editable by staff in
the admin). Created only if missing; removed on reverse by name."""

from django.db import migrations

NAME = "Prices: refresh gateway price lists"
TASK = "billing.tasks.prices.sync_gateway_prices"
DAILY_AT_0415 = {"minute": "15", "hour": "4", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}
DESCRIPTION = "Reads each OpenRouter-kind gateway's model list and stores the prices that changed."


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab = CrontabSchedule.objects.filter(timezone="UTC", **DAILY_AT_0415).first()
    crontab = crontab or CrontabSchedule.objects.create(timezone="UTC", **DAILY_AT_0415)
    PeriodicTask.objects.create(name=NAME, task=TASK, crontab=crontab, description=DESCRIPTION)


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_18_price_sources"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
