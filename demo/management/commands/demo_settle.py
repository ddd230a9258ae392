import signal
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from billing.invoicing.periods import period_previous
from demo.coverage import demo_coverage_check
from demo.finance import demo_finance_state
from generations.models import Generation

POLL_SECONDS = 5


class Command(BaseCommand):
    help = (
        "For the demo started by `make run`: wait until reconciliation has checked last month's "
        "generations, then let the demo finance user settle a few discrepancies and draft last "
        "month's invoices. Stays up afterwards (it runs beside the other processes) unless --once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--timeout", type=int, default=900, help="Give up waiting after this many seconds.")
        parser.add_argument("--once", action="store_true", help="Exit when done instead of staying up.")

    def handle(self, *args, timeout: int, once: bool, **options) -> None:
        signal.signal(signal.SIGTERM, lambda *_: exit(0))
        month_start = period_previous(timezone.now().date())
        this_month = (month_start + timedelta(days=32)).replace(day=1)
        last_month = Generation.objects.filter(created_at__date__gte=month_start, created_at__date__lt=this_month)
        deadline = time.monotonic() + timeout
        while last_month.pending().exists() and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        finance = get_user_model().objects.filter(username="finance").first()
        invoices = demo_finance_state(by=finance)
        checked = demo_coverage_check()
        (Path(settings.VAR_DIR) / "demo" / "settle.pending").unlink(missing_ok=True)
        self.stdout.write(f"Demo: settled a few discrepancies and drafted {len(invoices)} invoices for {month_start:%Y-%m}.")
        self.stdout.write(f"Demo: checked coverage of {len(checked)} gateway day(s) against the gateway's activity.")
        while not once:
            time.sleep(3600)
