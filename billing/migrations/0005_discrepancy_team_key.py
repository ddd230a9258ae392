"""Keep each discrepancy's key and team (copied from its generation) for cheap open counts."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_owner_from_generations(apps, schema_editor):
    Discrepancy = apps.get_model("billing", "Discrepancy")
    Generation = apps.get_model("generations", "Generation")
    generation = Generation.objects.filter(pk=OuterRef("generation_id"))
    Discrepancy.objects.update(
        api_key_id=Subquery(generation.values("api_key_id")[:1]),
        team_id=Subquery(generation.values("team_id")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("billing", "0004_invoice_guards"),
        ("generations", "0002_drop_redundant_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="discrepancy",
            name="api_key",
            field=models.ForeignKey(
                db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE,
                related_name="+", to="accounts.apikey",
            ),
        ),
        migrations.AddField(
            model_name="discrepancy",
            name="team",
            field=models.ForeignKey(
                db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE,
                related_name="+", to="accounts.team",
            ),
        ),
        migrations.RunPython(copy_owner_from_generations, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="discrepancy",
            name="api_key",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.apikey"
            ),
        ),
        migrations.AlterField(
            model_name="discrepancy",
            name="team",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.team"
            ),
        ),
        migrations.AddIndex(
            model_name="discrepancy",
            index=models.Index(fields=["team", "status", "api_key"], name="discrepancy_team_status_key"),
        ),
    ]
