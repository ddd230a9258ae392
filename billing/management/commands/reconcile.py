"""Reconcile in the foreground, on the same code path as the Celery tasks (no broker needed).

    python manage.py reconcile                        one pass over what is due now
    python manage.py reconcile --until-done           keep going until nothing is pending
    python manage.py reconcile --until-done --timeout 300

Either way it prints the generations by state and gateway. With --until-done it exits 0 once
no generation is pending, and non-zero if --timeout passes first or only generations of paused
gateways or keys are left.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum
from django.utils import timezone

from billing.reconciliation.services import generations_reconcile
from generations.fetching import generations_claim_due
from generations.models import DailySpend, Generation
from generations.services import generations_requeue_rechecks

STATES = ("verified", "disputed", "missing", "expired", "pending")
# Upper bound on one wait, so new work (or an unpaused gateway) is noticed.
MAX_WAIT_SECONDS = 5.0


class Command(BaseCommand):
    help = "Look up due generations and reconcile them now, in the foreground."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--until-done",
            action="store_true",
            help="Keep going, waiting for retries and grace windows, until no generation is pending.",
        )
        parser.add_argument(
            "--timeout", type=float, default=None, metavar="SECONDS", help="With --until-done: give up after this long."
        )

    def handle(self, *args, until_done: bool, timeout: float | None, **options) -> None:
        if timeout is not None and timeout <= 0:
            raise CommandError("--timeout must be a positive number of seconds.")
        deadline = time.monotonic() + timeout if timeout else None
        reconciled = self.one_pass()
        while until_done:
            pending = Generation.objects.pending()
            if not pending.exists():
                break
            workable = pending.filter(gateway__paused_at__isnull=True, api_key__paused_at__isnull=True)
            if not workable.exists():
                self.print_summary(reconciled)
                raise CommandError(
                    f"{pending.count()} pending generations belong to paused gateways or keys; "
                    "clear the pause in the admin, then run this again."
                )
            if deadline is not None and time.monotonic() >= deadline:
                self.print_summary(reconciled)
                raise CommandError(f"Timed out after {timeout:g} seconds with generations still pending.")
            self.wait_for_next_due(workable, deadline)
            reconciled += self.one_pass()
        self.print_summary(reconciled)

    def one_pass(self) -> int:
        """Requeue due slow re-checks, claim what is due now and reconcile it batch by batch;
        returns how many were looked at. Re-checks not due yet do not keep --until-done waiting."""
        generations_requeue_rechecks()
        looked_at = 0
        for claim in generations_claim_due():
            generations_reconcile(claim=claim)
            looked_at += len(claim.generation_ids)
        return looked_at

    def wait_for_next_due(self, workable, deadline: float | None) -> None:
        next_due = workable.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
        wait = 0.0 if next_due is None else (next_due - timezone.now()).total_seconds()
        wait = min(max(wait, 0.05), MAX_WAIT_SECONDS)
        if deadline is not None:
            wait = min(wait, max(deadline - time.monotonic(), 0))
        time.sleep(wait)

    def print_summary(self, reconciled: int) -> None:
        rows = (
            DailySpend.objects.values("api_key__gateway__slug")
            .order_by("api_key__gateway__slug")
            .annotate(**{state: Sum(state) for state in STATES})
        )
        header = f"{'gateway':<24}" + "".join(f"{state:>10}" for state in STATES)
        self.stdout.write(f"Looked up {reconciled} generations.")
        self.stdout.write(header)
        totals = dict.fromkeys(STATES, 0)
        for row in rows:
            self.stdout.write(f"{row['api_key__gateway__slug']:<24}" + "".join(f"{row[state] or 0:>10}" for state in STATES))
            for state in STATES:
                totals[state] += row[state] or 0
        self.stdout.write(f"{'total':<24}" + "".join(f"{totals[state]:>10}" for state in STATES))
