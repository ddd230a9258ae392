"""Teams' alert webhook URLs are secrets: encrypted at rest like gateway keys."""

from django.db import migrations, models

from accounts.secrets import decrypt_secret, encrypt_secret


def encrypt_webhooks(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    for team in Team.objects.exclude(alert_webhook_url=""):
        team.alert_webhook_encrypted = encrypt_secret(team.alert_webhook_url)
        team.save(update_fields=["alert_webhook_encrypted"])


def decrypt_webhooks(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    for team in Team.objects.exclude(alert_webhook_encrypted=""):
        team.alert_webhook_url = decrypt_secret(team.alert_webhook_encrypted)[:500]
        team.save(update_fields=["alert_webhook_url"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_merge_management_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="team",
            name="alert_webhook_encrypted",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(encrypt_webhooks, decrypt_webhooks),
        migrations.RemoveField(
            model_name="team",
            name="alert_webhook_url",
        ),
    ]
