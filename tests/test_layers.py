"""The library's folders are its layers (issue 31, items 6 and 7): each module imports only
from its own layer or the ones below it, at the top of the module or inside a function alike;
at most 12 modules sit at the top of ``unlearnlib/``; no module is over 400 lines."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "unlearnlib"
# Bottom-up, as the data flows (the order ``unlearnlib/__init__.py``'s docstring states). The
# core is the top-level modules and the registries ``data/``, ``scenarios/`` and ``algorithms/``;
# ``cli.py`` and ``__main__.py`` are the top.
LAYERS = ("core", "results", "evaluation", "kinds", "execution", "report", "top")
CORE_PACKAGES = ("data", "scenarios", "algorithms")
TOP = ("cli", "__main__")
MAX_TOP_LEVEL_MODULES = 12
MAX_LINES = 400


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str | None:
    """The layer of ``unlearnlib.x[.y]``; None for the package itself (``__version__`` only)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    if parts[1] in TOP:
        return "top"
    if parts[1] in LAYERS:
        return parts[1]
    return "core"  # a top-level module, or data/, scenarios/, algorithms/


def _imports(path: Path):
    """(line, imported module) for every import of the package in ``path``, lazy ones included."""
    module, tree = _module(path), ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "unlearnlib":
                continue
            for alias in node.names:  # ``from . import x`` imports the module x
                sub = f"{target}.{alias.name}"
                yield node.lineno, sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists() \
                    or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else target
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "unlearnlib")


def test_declared_order_is_the_packages_docstring():
    import unlearnlib

    stated = [line.split()[0].rstrip("/") for line in unlearnlib.__doc__.split("Layers, bottom-up:")[1].splitlines()
              if line.strip() and not line.startswith(" " * 5)]
    assert tuple(stated) == LAYERS


def test_at_most_twelve_modules_at_the_top():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(LAYERS[1:-1]) | set(CORE_PACKAGES), folders


def test_no_module_over_400_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_no_import_from_a_higher_layer():
    climbs = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _layer(_module(path))
        for line, target in _imports(path):
            there = _layer(target)
            if here is not None and there is not None and LAYERS.index(there) > LAYERS.index(here):
                climbs.append(f"{path.relative_to(PACKAGE)}:{line} ({here}) imports {target} ({there})")
    assert not climbs, "\n".join(climbs)
