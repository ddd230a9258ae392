"""Default beat schedules (filled in by the reconciliation jobs work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_finance_group"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations: list = []
