"""The import graph follows the layers drawn in ARCHITECTURE.md: imports only go
down (or stay inside one package), there are no cycles, and the library never
imports a shell. Every import counts, including those inside functions."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOTS = {"qa": REPO / "src" / "qa", "qa_ui": REPO / "ui"}

# Lowest first. A module may import from a lower layer or from its own package.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("qa.errors", "qa.types", "qa.data", "qa.secrets"),
    ("qa.settings", "qa.streaming"),
    ("qa.text",),
    ("qa.ingest",),
    ("qa.query",),
    ("qa.answer",),
    ("qa.owners",),
    ("qa.collection",),
    ("qa.assistant",),
    ("qa.evaluate",),
    ("qa.views",),
    ("qa.saved",),
    ("qa.cli",),
    ("qa.__main__",),
    ("qa",),  # the package facade (qa/__init__.py) alone: the public API, for shells and users
    ("qa_ui",),  # the web shell: the chat page, the HTTP APIs and `qa serve`
)


def _modules() -> dict[str, Path]:
    found = {}
    for package, root in ROOTS.items():
        for path in root.rglob("*.py"):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Project modules that `name` imports, resolved to the module (not the package) where possible."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in MODULES else base)
    return {t for t in targets if t in MODULES and t != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, the layer entry the module falls under); the longest entry wins."""
    best = None
    for index, entries in enumerate(LAYERS):
        for entry in entries:
            if module == entry or (entry != "qa" and module.startswith(entry + ".")):
                if best is None or len(entry) > len(best[1]):
                    best = (index, entry)
    if best is None:
        raise AssertionError(f"{module} has no layer: add it to LAYERS and ARCHITECTURE.md")
    return best


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module):
    mine, my_entry = layer_of(module)
    for target in sorted(GRAPH[module]):
        theirs, their_entry = layer_of(target)
        assert theirs < mine or their_entry == my_entry, \
            f"{module} (layer {my_entry}) imports {target} (layer {their_entry}): an upward or sideways import"


def test_no_import_cycles():
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target] if target in path else [module, target]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if state.get(target) is None:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])


def test_the_library_never_imports_the_ui():
    offenders = sorted(m for m, targets in GRAPH.items()
                       if m.split(".")[0] == "qa" and any(t.split(".")[0] == "qa_ui" for t in targets))
    assert offenders == []


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """The rules above would pass vacuously if imports went unseen."""
    assert "qa.assistant" in GRAPH["qa"]  # a lazy import inside qa.__getattr__
    assert "qa_ui.format" in GRAPH["qa_ui.app"]  # `from . import format`
    with pytest.raises(AssertionError):
        layer_of("qa.nowhere_drawn")
