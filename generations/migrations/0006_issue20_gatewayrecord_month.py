"""Gateway records carry their generation's created_at, the month both tables are partitioned by
on PostgreSQL (0007), and name (generation, created_at) as what an upsert conflicts on. On
PostgreSQL the partitioned table's primary key is that pair, so the constraint exists there in
Django's state only."""

from django.db import migrations, models


def copy_created_at(apps, schema_editor):
    GatewayRecord = apps.get_model("generations", "GatewayRecord")
    Generation = apps.get_model("generations", "Generation")
    created_at = Generation.objects.filter(pk=models.OuterRef("generation_id")).values("created_at")[:1]
    GatewayRecord.objects.update(created_at=models.Subquery(created_at))


CONSTRAINT = models.UniqueConstraint(fields=["generation", "created_at"], name="gatewayrecord_generation_month")


# SQL, not schema_editor.add_constraint: SQLite's rebuilds the table from the historical model,
# which does not have the constraint yet here.
def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(CONSTRAINT.create_sql(apps.get_model("generations", "GatewayRecord"), schema_editor))


def remove_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(CONSTRAINT.remove_sql(apps.get_model("generations", "GatewayRecord"), schema_editor))


class Migration(migrations.Migration):
    dependencies = [("generations", "0005_merge_recheck_and_list_indexes")]

    operations = [
        migrations.AddField(
            model_name="gatewayrecord", name="created_at", field=models.DateTimeField(editable=False, null=True)
        ),
        migrations.RunPython(copy_created_at, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="gatewayrecord", name="created_at", field=models.DateTimeField(editable=False)
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddConstraint(model_name="gatewayrecord", constraint=CONSTRAINT)],
            database_operations=[migrations.RunPython(add_constraint, remove_constraint)],
        ),
    ]
