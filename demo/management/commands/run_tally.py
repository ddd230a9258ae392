import os
import shlex
import sys
from pathlib import Path

import honcho.manager
from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError
from honcho.manager import Manager
from honcho.printer import Message, Printer

from demo.coverage import MANAGEMENT_KEYS_FILE

SIMULATOR_COMMAND = "simulate_gateways"
# Seconds between SIGTERM and SIGKILL. Honcho's 5 is shorter than a Celery worker's warm shutdown
# on the filesystem broker, and a killed worker could lose the message it holds.
STOP_WAIT_SECONDS = 20
# Honcho's return codes after Ctrl-C (SIGINT) and SIGTERM: a requested stop, not a failure.
STOPPED_BY_SIGNAL = (0, None, 130, 143)
WEB_READY_LINE = "Quit the server with"


def port_from_environment(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    if not value.isdigit():
        raise CommandError(f"{name} must be a port number, not {value!r}.")
    return int(value)


def demo_directory() -> Path:
    return Path(settings.VAR_DIR) / "demo"


def tally_processes(*, port: int, simulator_port: int) -> dict[str, list[str]]:
    """The command line of each process Tally needs, by name."""
    python = sys.executable
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    processes = {
        "web": [python, manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        # Threads, not prefork: one process to stop, and it works with the filesystem broker.
        "worker": [python, "-m", "celery", "-A", "config", "worker", "--pool", "threads", "--loglevel", "INFO"],
        "beat": [
            python, "-m", "celery", "-A", "config", "beat",
            "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", "--loglevel", "INFO",
        ],
    }  # fmt: skip
    if SIMULATOR_COMMAND in get_commands():
        simulator = [python, manage, SIMULATOR_COMMAND, "--port", str(simulator_port)]
        simulator_data = demo_directory() / "simulator.jsonl"
        if simulator_data.exists():
            simulator += ["--data", str(simulator_data)]
        management_keys = demo_directory() / MANAGEMENT_KEYS_FILE
        if management_keys.exists():
            simulator += ["--management-keys-file", str(management_keys)]
        processes["simulator"] = simulator
    if (demo_directory() / "settle.pending").exists():
        # The demo's finance state is set once, after the first reconciliation of its data.
        processes["demo"] = [python, manage, "demo_settle"]
    return processes


class ReadyPrinter(Printer):
    """Prints the children's output, prefixed by their names, and the welcome text once the web
    server says it is listening (so it is not lost in the start-up output)."""

    def __init__(self, *, welcome: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.welcome = welcome

    def write(self, message: Message) -> None:
        super().write(message)
        data = message.data.decode("utf-8", "replace") if isinstance(message.data, bytes) else message.data
        if message.name == "web" and WEB_READY_LINE in data:
            print(self.welcome, file=self.output, flush=True)


class Command(BaseCommand):
    help = (
        "Run Tally in the foreground: the web server, a Celery worker, Celery beat and, when it is "
        "installed, the gateway simulator. Ctrl-C stops them all. Run migrate (and seed_demo) first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=port_from_environment("TALLY_PORT", 8000),
            help="Web server port on 127.0.0.1 (default: $TALLY_PORT or 8000).",
        )
        parser.add_argument(
            "--simulator-port",
            type=int,
            default=port_from_environment("TALLY_SIMULATOR_PORT", 8001),
            help="Gateway simulator port on 127.0.0.1 (default: $TALLY_SIMULATOR_PORT or 8001).",
        )

    def handle(self, *args, port: int, simulator_port: int, **options) -> None:
        processes = tally_processes(port=port, simulator_port=simulator_port)
        self.stdout.write(f"Starting {', '.join(processes)}. Ctrl-C stops them all.")
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
        honcho.manager.KILL_WAIT = STOP_WAIT_SECONDS
        manager = Manager(printer=ReadyPrinter(welcome=self.welcome(port=port), output=sys.stdout))
        for name, command in processes.items():
            # exec: the process honcho reports and signals is the program itself, not a shell.
            manager.add_process(name, "exec " + shlex.join(command), env=environment, cwd=str(settings.BASE_DIR))
        manager.loop()
        if manager.returncode not in STOPPED_BY_SIGNAL:
            sys.exit(manager.returncode)

    def welcome(self, *, port: int) -> str:
        url = f"http://127.0.0.1:{port}/"
        lines = ["", f"Tally is running at {url}  (finance admin: {url}admin/)"]
        logins = demo_directory() / "logins.txt"
        if logins.exists():
            lines += ["Demo logins:", *("  " + line for line in logins.read_text().splitlines() if line.strip())]
        lines += ["Press Ctrl-C to stop everything.", ""]
        return "\n".join(lines)
