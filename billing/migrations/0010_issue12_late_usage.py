"""Late-usage lines (and the month they belong to), the usage an invoice bills (the base of its
verified share), and why an invoice's last drafting failed.

Existing invoices get their usage amount from their usage lines (void ones never change)."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce


def fill_usage_amount(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    usage = (
        InvoiceLine.objects.filter(invoice_id=OuterRef("pk"), kind="usage")
        .order_by()
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    Invoice.objects.exclude(status="void").update(
        usage_amount=Coalesce(Subquery(usage), Value(Decimal("0.00")), output_field=DecimalField())
    )


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0009_merge_20261201_2133'),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='draft_error',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.AddField(
            model_name='invoice',
            name='usage_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=16),
        ),
        migrations.AddField(
            model_name='invoiceline',
            name='usage_period',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='invoiceline',
            name='kind',
            field=models.CharField(choices=[('usage', 'Usage'), ('late_usage', 'Late Usage'), ('adjustment', 'Adjustment')], default='usage', max_length=12),
        ),
        migrations.RunPython(fill_usage_amount, migrations.RunPython.noop),
    ]
