"""python manage.py seed_demo: the demo data, and the gateway simulator's side of it."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from demo.seed import demo_seed


class Command(BaseCommand):
    help = "Create demo teams, users, gateways, keys, prices and generations; write var/demo/simulator.jsonl."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any team exists (for make run).")
        parser.add_argument("--simulator-port", type=int, default=8001, help="Where the demo gateways point.")
        parser.add_argument("--generations", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=2024, help="Random seed: the same seed, the same demo.")

    def handle(self, *args, **options) -> None:
        if Team.objects.exists():
            if options["if_empty"]:
                self.stdout.write("Demo not seeded: there are teams already.")
                return
            raise CommandError("There are teams already; seed_demo only fills an empty database (or use --if-empty).")
        if options["generations"] < 0:
            raise CommandError("--generations must be at least 0.")
        summary = demo_seed(
            simulator_port=options["simulator_port"],
            generations=options["generations"],
            seed=options["seed"],
            log=self.stdout.write,
        )
        planted = sum(summary.planted.values())
        self.stdout.write(
            f"Demo: {summary.teams} teams, {summary.gateways} gateways, {summary.api_keys} API keys, "
            f"{summary.generations} generations (pending), {planted} with planted differences:"
        )
        for kind, count in sorted(summary.planted.items()):
            self.stdout.write(f"  {kind}: {count}")
        self.stdout.write("Logins (also in %s):" % summary.logins_file)
        for username, password, role in summary.users:
            self.stdout.write(f"  {username} / {password}  ({role})")
        self.stdout.write("API access tokens (ingest, read), shown once:")
        for team_slug, token in summary.access_tokens:
            self.stdout.write(f"  {team_slug}: {token}")
        for note in summary.notes:
            self.stdout.write(self.style.WARNING(note))
