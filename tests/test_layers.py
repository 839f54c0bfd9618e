"""The house runs one way (decision 53): every import between the project's top-level
packages points down the layer order, counting imports inside functions and the module
paths in include() strings (which `lint-imports` in scripts/check cannot see)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Top to bottom; a package may import only the ones after it.
LAYERS = ["config", "console", "audits", "personalization", "governance", "accounts", "core"]
RANK = {name: i for i, name in enumerate(LAYERS)}


def _imported_modules(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "include"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, node.lineno))
    return found


def package_edges(root: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """(from package, to package) -> the `file:line` of every such import."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for module, line in _imported_modules(tree):
                target = module.split(".")[0]
                if target in RANK and target != package:
                    edges[(package, target)].append(f"{path.relative_to(root)}:{line}")
    return edges


def upward(edges: dict[tuple[str, str], list[str]]) -> list[str]:
    return [
        f"{source} -> {target}: {', '.join(sites)}"
        for (source, target), sites in sorted(edges.items())
        if RANK[target] < RANK[source]
    ]


def test_no_package_imports_one_above_it():
    assert upward(package_edges()) == []


def test_the_check_sees_an_import_inside_a_function_and_an_include_string(tmp_path):
    """The checker itself: a lower package reaching up, either way, is reported."""
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / "core" / "health.py").write_text(
        "def check():\n    from config.celery_app import app\n    return app\n"
    )
    (tmp_path / "governance" / "urls.py").write_text(
        "from django.urls import include, path\n\n"
        'urlpatterns = [path("", include("audits.urls"))]\n'
    )
    (tmp_path / "console" / "views.py").write_text("from personalization import selectors\n")
    assert upward(package_edges(tmp_path)) == [
        "core -> config: core/health.py:2",
        "governance -> audits: governance/urls.py:3",
    ]


def imports_of_test_modules(tree: ast.AST) -> list[tuple[str, int]]:
    """Imports of a test module or a conftest (`tests.x.test_y`, `from tests.x import
    conftest`, `from .test_y import z`), anywhere in the file, inside functions too."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            parts = [part for part in name.split(".") if part]
            if any(part == "conftest" or part.startswith("test_") for part in parts):
                found.append((name, node.lineno))
                break
    return found


def files_importing_tests(root: Path = ROOT) -> list[str]:
    return [
        f"{path.relative_to(root)}:{line} imports {name}"
        for path in sorted((root / "tests").rglob("*.py"))
        for name, line in imports_of_test_modules(ast.parse(path.read_text(encoding="utf-8")))
    ]


def test_no_test_file_imports_a_test_module_or_a_conftest():
    """Shared helpers live in tests/builders.py (and tests/engine_builders.py,
    tests/browser/support.py); shared fixtures in a conftest or tests/shared_fixtures.py,
    requested by name."""
    assert files_importing_tests() == []


def test_the_test_import_check_sees_every_way_of_reaching_a_test_module(tmp_path):
    (tmp_path / "tests" / "shop").mkdir(parents=True)
    (tmp_path / "tests" / "shop" / "test_a.py").write_text(
        "from tests.builders import Shop\n"
        "from tests.shop.test_b import bought\n"
        "def test_x():\n    from tests.shop.conftest import text_of\n"
    )
    (tmp_path / "tests" / "shop" / "test_c.py").write_text(
        "import tests.shop.test_b\nfrom tests.shop import conftest\nfrom .test_b import grant\n"
    )
    assert files_importing_tests(tmp_path) == [
        "tests/shop/test_a.py:2 imports tests.shop.test_b",
        "tests/shop/test_a.py:4 imports tests.shop.conftest",
        "tests/shop/test_c.py:1 imports tests.shop.test_b",
        "tests/shop/test_c.py:2 imports tests.shop.conftest",
        "tests/shop/test_c.py:3 imports .test_b",
    ]
