"""Invoice lines keep their key's name as drafted, so a finalized invoice prints it as it was.

Lines drafted before this migration get the key's name when it runs: the best record there is.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def keep_key_names(apps, schema_editor):
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    ApiKey = apps.get_model("accounts", "ApiKey")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("ALTER TABLE billing_invoiceline DISABLE TRIGGER billing_invoiceline_frozen")
    InvoiceLine.objects.filter(api_key__isnull=False).update(
        key_name=Subquery(ApiKey.objects.filter(pk=OuterRef("api_key_id")).values("name")[:1])
    )
    if postgres:
        schema_editor.execute("ALTER TABLE billing_invoiceline ENABLE TRIGGER billing_invoiceline_frozen")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_team_alert_webhook_encrypted"),
        ("billing", "0015_merge_invoice_terms_and_raw_compaction"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoiceline",
            name="key_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.RunPython(keep_key_names, migrations.RunPython.noop),
    ]
