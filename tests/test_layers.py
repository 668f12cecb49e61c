"""Dependencies point one way: kb <- scrapers, index <- web <- kbcli."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "kb": {"kb"},
    "scrapers": {"kb", "scrapers"},
    "index": {"kb", "index"},
    "web": {"kb", "index", "web"},
    "kbcli": {"kb", "index", "web", "scrapers", "kbcli"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_point_one_way(package):
    for path in (ROOT / package).rglob("*.py"):
        bad = imported_packages(path) - ALLOWED[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
