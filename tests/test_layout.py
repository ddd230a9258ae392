"""The tree keeps the architecture the README describes: dependencies point one way, and the
product never needs the demo or its libraries."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each package, and the top-level packages it must never import.
FORBIDDEN = {
    "lib": {"generations", "billing", "demo"},
    "accounts": {"generations", "billing", "demo", "config"},
    "generations": {"billing", "demo"},
    "billing": {"demo"},
}
DEMO_LIBRARIES = ("honcho", "uvicorn", "starlette")


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_it_keeps_dependencies_pointing_one_way(package):
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_packages(path) & FORBIDDEN[package]
    }
    assert offending == {}


def test_accounts_names_no_other_apps_urls():
    texts = {path: path.read_text() for path in (ROOT / "accounts").rglob("*.py") if "migrations" not in path.parts}
    assert [str(path.relative_to(ROOT)) for path, text in texts.items() if "spend:" in text or "billing" in text] == []


def test_the_product_runs_without_the_demos_libraries():
    """What production loads (URLs, admin, Celery tasks) imports none of the demo's dev-only libraries."""
    script = (
        "import sys, django; django.setup()\n"
        "import config.urls, config.celery_app, billing.tasks\n"
        "from django.contrib import admin; admin.autodiscover()\n"
        f"print(sorted(name for name in sys.modules if name.split('.')[0] in {DEMO_LIBRARIES!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin", "TALLY_VAR_DIR": str(ROOT / "var")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_demos_libraries_are_not_runtime_requirements():
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert [name for name in DEMO_LIBRARIES if name in runtime] == []
