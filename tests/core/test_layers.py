"""The house's floors: each app imports only the apps below it, and none imports the
site package (settings, urls, wsgi), which sits on top and wires them together."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["core", "notifications", "events", "partners", "bookings", "offers"]
# Which of our apps each app may import, bottom floor first.
ALLOWED = {
    "core": set(),
    "notifications": {"core"},
    "events": {"core", "notifications"},
    "partners": {"core", "notifications", "events"},
    "bookings": {"core", "notifications", "events", "partners"},
    "offers": {"core", "notifications", "events", "partners", "bookings"},
}
OURS = {*APPS, "bookings_site", "billing", "events"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & OURS


def app_sources(app: str) -> list[Path]:
    return [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("app", APPS)
def test_app_imports_only_the_floors_below_it(app):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported - ALLOWED[app] - {app})
        for path in app_sources(app)
        if (imported := imported_packages(path)) - ALLOWED[app] - {app}
    }
    assert wrong == {}


def test_no_app_imports_the_site_package():
    apps = [p.name for p in ROOT.iterdir() if (p / "apps.py").exists()]
    assert "core" in apps
    wrong = [
        str(path.relative_to(ROOT))
        for app in apps
        for path in app_sources(app)
        if "bookings_site" in imported_packages(path)
    ]
    assert wrong == []
