"""The Finance group and its permissions (filled in by the finance admin work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations: list = []
