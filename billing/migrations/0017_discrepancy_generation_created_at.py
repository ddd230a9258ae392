"""Each finding on a generation keeps when the generation was made, so a key's open findings of a
month are counted without joining the partitioned generations table."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_team_alert_webhook_encrypted'),
        ('billing', '0016_invoice_line_key_name'),
        ('generations', '0008_issue20_partition_schedule'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='discrepancy',
            name='generation_created_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        # Findings filed before this field existed: copied from their generations, in one statement.
        migrations.RunSQL(
            """
            UPDATE billing_discrepancy SET generation_created_at = (
                SELECT generation.created_at FROM generations_generation generation
                WHERE generation.id = billing_discrepancy.generation_id
            )
            WHERE generation_id IS NOT NULL AND generation_created_at IS NULL
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='discrepancy',
            index=models.Index(condition=models.Q(('severity', 'error'), ('status__in', ['open', 'acknowledged'])), fields=['api_key', 'generation_created_at'], name='discrepancy_open_error_key'),
        ),
    ]
