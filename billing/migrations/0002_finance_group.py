"""The Finance group and exactly the permissions finance needs in the admin.

Finance reads generations, keys and teams; works discrepancies; drafts, finalizes (with an
override when the period is not settled) and voids invoices; keeps prices and team markups.
Permissions are created first: on a fresh database they do not exist yet when this runs.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE_GROUP = "Finance"

# (app_label, model, codename, name) of permissions the models' Meta does not declare.
CUSTOM_PERMISSIONS = [
    ("billing", "invoice", "finalize_invoice", "Can finalize invoice"),
    ("billing", "invoice", "override_unsettled_invoice", "Can finalize an unsettled invoice with an override"),
    ("billing", "invoice", "void_invoice", "Can void invoice"),
]

FINANCE_PERMISSIONS = [
    ("accounts", "view_team"),
    ("accounts", "change_team"),
    ("accounts", "view_gateway"),
    ("accounts", "view_apikey"),
    ("generations", "view_generation"),
    ("generations", "view_gatewayrecord"),
    ("billing", "view_modelprice"),
    ("billing", "add_modelprice"),
    ("billing", "change_modelprice"),
    ("billing", "view_discrepancy"),
    ("billing", "change_discrepancy"),
    ("billing", "view_discrepancyevent"),
    ("billing", "view_invoice"),
    ("billing", "view_invoiceline"),
    ("billing", "finalize_invoice"),
    ("billing", "override_unsettled_invoice"),
    ("billing", "void_invoice"),
]


def create_finance_group(apps, schema_editor) -> None:
    for app_config in apps.get_app_configs():
        # Migration-state app configs have no models module; create_permissions skips those.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    finance_group_fill(apps)


def finance_group_fill(apps) -> None:
    """The custom permissions and the group, once every model's permissions exist."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for app_label, model, codename, name in CUSTOM_PERMISSIONS:
        content_type = ContentType.objects.get(app_label=app_label, model=model)
        Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})
    group, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    permissions = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in FINANCE_PERMISSIONS
    ]
    group.permissions.set(permissions)


def remove_finance_group(apps, schema_editor) -> None:
    apps.get_model("auth", "Group").objects.filter(name=FINANCE_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("accounts", "0001_initial"),
        ("generations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_finance_group, remove_finance_group)]
