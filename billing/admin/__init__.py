"""The finance admin, one module per job: the dashboard and overview, invoices and their
documents, discrepancies as case files, list prices.

Every change of an invoice or a discrepancy goes through a service (billing.invoicing,
billing.discrepancies) that records who, when and why; the admin asks for the reason and writes
the action into the admin history too.
"""

from django.contrib import admin

from billing.admin import discrepancies, generations, invoices, prices  # noqa: F401  (they register the models)
from billing.admin.dashboard import dashboard_index
from billing.alerts import admin as alerts_admin  # noqa: F401  (registers the alert admins)
from billing.coverage import admin as coverage_admin  # noqa: F401  (registers the coverage admins)

# Finance tables are wide; the page needs the room more than a second menu.
admin.site.enable_nav_sidebar = False
admin.site.site_header = "Tally finance"
admin.site.site_title = "Tally finance"
admin.site.index = dashboard_index
