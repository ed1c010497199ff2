"""The house rules on imports, checked by walking every module's AST (imports inside functions count too).

- Layers: ``bench → protocols → methods → metrics → datasets → core``. A module may import its own layer and the
  layers below it, never one above.
- A method is one folder: ``methods/<name>/`` imports no sibling ``methods/<other>/``; shared pieces live in the
  method kit (``methods/common/``, ``methods/base.py``, ``methods/training.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ["core", "datasets", "metrics", "methods", "protocols", "bench"]  # bottom to top
METHOD_KIT = {"base", "common", "training"}


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _imports(path: Path, where: Path | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``; relative imports are resolved as if the file
    stood at ``where`` (relative to the repository; default: where it is)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = list((where or path.relative_to(REPO)).parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # ``from methods import adain`` imports the sub-module methods.adain
            found.extend((node.lineno, f"{name}.{alias.name}") for alias in node.names)
    return found


def _layer(module: str) -> int | None:
    top = module.split(".", 1)[0]
    return LAYERS.index(top) if top in LAYERS else None


@pytest.mark.parametrize("package", LAYERS)
def test_imports_only_run_downward(package: str) -> None:
    own = LAYERS.index(package)
    upward = [f"{path.relative_to(REPO)}:{line} imports {name}"
              for path in _modules(package) for line, name in _imports(path)
              if (layer := _layer(name)) is not None and layer > own]
    assert not upward, "imports that run upward (" + " → ".join(reversed(LAYERS)) + "):\n" + "\n".join(upward)


def _method_folder(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "methods" or len(parts) < 2 or parts[1] in METHOD_KIT:
        return None
    return parts[1]


def test_no_method_imports_a_sibling_method() -> None:
    offences = []
    for folder in sorted(p for p in (REPO / "methods").iterdir() if p.is_dir() and p.name not in METHOD_KIT):
        if folder.name.startswith(("_", ".")):
            continue
        for path in sorted(folder.rglob("*.py")):
            for line, name in _imports(path):
                other = _method_folder(name)
                if other is not None and other != folder.name and (REPO / "methods" / other).is_dir():
                    offences.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert not offences, "methods importing a sibling method (move the shared piece to methods/common):\n" + \
        "\n".join(offences)


def test_the_walk_sees_upward_and_sibling_imports(tmp_path: Path) -> None:
    """The checks above can fail: the walk finds an upward import inside a function and a relative import."""
    module = REPO / "methods" / "segin" / "__init__.py"
    names = {name for _, name in _imports(module)}
    assert any(name.startswith("methods.") for name in names)
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from bench.runner import run\n    from . import base\n")
    names = [name for _, name in _imports(probe, where=Path("metrics/probe.py"))]
    assert "bench.runner" in names and "metrics.base" in names
    assert _layer("bench.runner") > LAYERS.index("metrics")
    assert _method_folder("methods.adain.vgg") == "adain" and _method_folder("methods.common.blocks") is None
