"""The import direction and house rules that keep the code navigable."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "dialogs", "handlers", "web", "config")
FORBIDDEN_IN_CORE = {"aiohttp", "socketio", "engineio", "config", "handlers", "web"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_core_never_imports_the_transport_or_settings() -> None:
    offenders = []
    for package in ("bot", "dialogs"):
        for path in (ROOT / package).rglob("*.py"):
            bad = _imports(path) & FORBIDDEN_IN_CORE
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_ast_check_catches_a_wrong_way_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('"""x."""\nfrom aiohttp import web\nimport config\n')
    assert _imports(bad) & FORBIDDEN_IN_CORE == {"aiohttp", "config"}


def test_every_module_opens_with_a_docstring() -> None:
    missing = []
    for package in PACKAGES + ("tests", "bench"):
        for path in (ROOT / package).rglob("*.py"):
            if ast.get_docstring(ast.parse(path.read_text())) is None:
                missing.append(str(path.relative_to(ROOT)))
    if ast.get_docstring(ast.parse((ROOT / "run.py").read_text())) is None:
        missing.append("run.py")
    assert missing == []
