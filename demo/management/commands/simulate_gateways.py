"""python manage.py simulate_gateways: serve the gateway simulator in the foreground."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from demo.simulator.records import PROTOCOLS
from demo.simulator.server import build_state, serve_forever
from demo.simulator.state import SimulatorConfig


class Command(BaseCommand):
    help = "Serve simulated OpenRouter, FastRouter and KushRouter generation lookups on one local port."
    # The simulator uses neither the database nor the admin; it must start even if they are broken.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--latency-ms", type=float, default=0.0, help="Delay before every answer.")
        parser.add_argument("--fault-rate", type=float, default=0.0, help="Share of lookups that fail (0..1).")
        parser.add_argument("--rate-limit", type=int, default=0, help="Lookups per second per protocol; 0 = none.")
        parser.add_argument("--not-found-seconds", type=float, default=0.0,
                            help="How long after its creation a record still answers 404.")
        parser.add_argument("--retention-seconds", type=float, default=None,
                            help="How long after its creation a record is kept; default forever.")
        parser.add_argument("--data", type=Path, help="A JSONL file of record specs to load.")
        parser.add_argument("--management-keys-file", type=Path,
                            help="A file of OpenRouter management keys, one a line: they may read /api/v1/keys and /api/v1/activity.")
        parser.add_argument("--generate", type=int, default=0, metavar="N",
                            help="Fabricate N records per protocol, ids <protocol>-sim-<0..N-1>.")
        parser.add_argument("--generate-unknown", action="store_true",
                            help="Answer unknown ids with fabricated records instead of 404.")

    def handle(self, *args, **options) -> None:
        try:
            config = SimulatorConfig()
            config.update(
                {
                    "latency_ms": options["latency_ms"],
                    "fault_rate": options["fault_rate"],
                    "rate_limit_per_second": options["rate_limit"],
                    "not_found_seconds": options["not_found_seconds"],
                    "retention_seconds": options["retention_seconds"],
                    "generate_unknown": options["generate_unknown"],
                    "management_keys": _lines(options["management_keys_file"]),
                }
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        data = options["data"]
        if data is not None and not data.exists():
            self.stderr.write(f"{data} does not exist (yet): starting with no loaded records.")
            data = None
        try:
            state = build_state(config=config, data=data, generate=options["generate"])
        except ValueError as error:
            raise CommandError(f"{data}: {error}") from error
        root = f"http://{options['host']}:{options['port']}"
        self.stdout.write(f"Gateway simulator with {len(state.records)} records:")
        for protocol in PROTOCOLS:
            self.stdout.write(f"  {protocol:<11} {root}/{protocol}")
        self.stdout.write(f"  control     {root}/_sim/stats, /_sim/records, /_sim/config, /_sim/reset")
        self.stdout.flush()
        serve_forever(state, host=options["host"], port=options["port"])


def _lines(path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
