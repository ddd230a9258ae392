"""Finance reads coverage results in the admin (what was checked per key and day, each check)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ("view_keydaycoverage", "view_coveragecheck")


def grant(apps, schema_editor) -> None:
    billing = apps.get_app_config("billing")
    billing.models_module = True
    create_permissions(billing, apps=apps, verbosity=0)
    billing.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Finance")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="billing", codename__in=CODENAMES))


def revoke(apps, schema_editor) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Finance"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="billing", codename__in=CODENAMES))


class Migration(migrations.Migration):
    dependencies = [("billing", "0011_issue16_coverage_schedule"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(grant, revoke)]
