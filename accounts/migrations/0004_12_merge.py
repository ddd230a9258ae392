"""Joins the two leaves main carries (0002_15 and 0003_13) so the graph migrates; the integrator may
drop this once it re-chains them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_15_key_source_mapping"),
        ("accounts", "0003_13_lookup_path_and_key_hash"),
    ]

    operations = []
