"""List prices say where they came from (import or gateway list); one price per source and date."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('billing', '0005_discrepancy_team_key'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='modelprice',
            name='modelprice_unique_from',
        ),
        migrations.AddField(
            model_name='modelprice',
            name='applies_below_prompt_tokens',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='modelprice',
            name='fetched_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='modelprice',
            name='source',
            field=models.CharField(choices=[('import', 'import'), ('gateway_list', 'gateway list')], default='import', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='modelprice',
            constraint=models.UniqueConstraint(fields=('gateway', 'model', 'source', 'valid_from'), name='modelprice_unique_source_from'),
        ),
    ]
