"""The house's rules (``[tool.importlinter]`` in pyproject.toml): imports run one way —
web | demo → schema → resolvers → auth → models → core —, no package's modules import each
other in a circle, and nothing imports the entry point."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("web", "demo", "schema", "resolvers", "auth", "models", "core")


def test_the_import_contracts_hold():
    # In a process of its own: import-linter configures logging for its command line.
    run = [sys.executable, "-c", "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(no_cache=True, no_logo=True))"]
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_imports_are_at_the_top_of_modules():
    """An import inside a function hides an arrow from the contracts (and a cycle with it)."""
    hidden = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    for inner in ast.walk(node):
                        if isinstance(inner, ast.ImportFrom) and (inner.module or "").split(".")[0] in PACKAGES + ("server",):
                            hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno} from {inner.module}")
    assert hidden == []


def test_the_schema_imports_no_module_only_for_type_checking():
    """``TYPE_CHECKING`` imports would be the same hidden arrows."""
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "TYPE_CHECKING" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_code_lints_clean():
    """Errors, unused and undefined names, import order ([tool.ruff])."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_test_modules_share_through_the_helpers_only():
    """What several test modules use lives in tests/helpers.py or tests/conftest.py; a test
    module that imports another runs (and collects) the other's tests' setup with it."""
    borrowed = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.test_"):
                borrowed.append(f"{path.name}:{node.lineno} from {node.module}")
    assert borrowed == []
