"""Dependencies point one way, at sub-package level:

    kb (core) <- kb.legal <- {kb.alerts, scrapers, index} ; web imports kb and index ; kbcli imports everything.

`index` never imports `kb.alerts`: alerts reach the index through the `Matcher` protocol that the CLI wires.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = "kb"
LEGAL = "kb.legal"
ALERTS = "kb.alerts"
ALLOWED = {
    CORE: {CORE},
    LEGAL: {CORE, LEGAL},
    ALERTS: {CORE, LEGAL, ALERTS},
    "scrapers": {CORE, LEGAL, "scrapers"},
    "index": {CORE, LEGAL, "index"},
    "web": {CORE, LEGAL, ALERTS, "index", "web"},
    "kbcli": {CORE, LEGAL, ALERTS, "index", "web", "scrapers", "kbcli"},
}
OURS = ("kb", "index", "web", "scrapers", "kbcli")


def layer_of_module(name: str) -> str | None:
    """'kb.legal.checker' -> 'kb.legal'; 'kb.store' -> 'kb'; 'flask' -> None."""
    parts = name.split(".")
    if parts[0] not in OURS:
        return None
    if parts[0] == "kb" and len(parts) > 1 and f"kb.{parts[1]}" in ALLOWED:
        return f"kb.{parts[1]}"
    return parts[0]


def layer_of_path(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return layer_of_module(".".join(rel.parts))


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    layers = set()
    for name in names:
        layer = layer_of_module(name)  # `from kb import vocab` names kb and kb.vocab: both the core
        if layer:
            layers.add(layer)
    return layers


def _sources():
    for package in OURS:
        yield from (ROOT / package).rglob("*.py")


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_one_way(layer):
    checked = 0
    for path in _sources():
        if layer_of_path(path) != layer:
            continue
        checked += 1
        bad = imported_layers(path) - ALLOWED[layer]
        assert not bad, f"{path.relative_to(ROOT)} ({layer}) imports {sorted(bad)}"
    assert checked, f"no module found for layer {layer}"


def test_the_rule_catches_an_upward_import(tmp_path):
    """The walker itself: a core module importing kb.legal is seen as such."""
    module = ROOT / "kb" / "_layer_probe.py"
    try:
        module.write_text("from kb.legal.citations import extract_citations\n", encoding="utf-8")
        assert layer_of_path(module) == CORE
        assert imported_layers(module) - ALLOWED[CORE] == {LEGAL}
    finally:
        module.unlink()
