"""Dagger's layers call one way: the engine above the store, the store above the model, the model above the base,
and ``dagger.testing`` (which stands in for the engine) above them all.

Every ``dagger`` import of every module of the package is read from its source. A module may import
its own layer and those below; imports made only for type checkers count too. Among the packages, the
imports that run form no circle (a type checker's import of a higher module's names, inside
``if TYPE_CHECKING:``, is not one that runs).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dagger"

LAYERS = {
    "base": 0,
    "model": 1,
    "store": 2,
    "engine": 3,
    "testing": 4,
}
PART_OF = {
    "codec": "base",
    "_record_fields": "base",
    "wire": "base",
    "utils": "base",
    "exceptions": "base",
    "tracing": "base",
    "types": "model",
    "tasks": "model",
    "templates": "model",
    "modeler": "model",
    "executor": "model",
    "store": "store",
    "service": "engine",
    "testing": "testing",
}
"""Each part of the package (a subpackage or a top-level module) and its layer."""

Imports = Mapping[str, set[tuple[str, bool]]]
"""Each module's ``dagger`` imports: the part imported, and whether only for type checkers."""


def part_of(module: str) -> str:
    """The part of the package a dotted module name (``dagger.store.stores``) belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "base"


def imported(tree: ast.AST) -> Iterator[tuple[str, bool]]:
    """The ``dagger`` modules a module's syntax tree imports, each with whether it is only for type checkers."""

    def visit(node: ast.AST, typing_only: bool) -> Iterator[tuple[str, bool]]:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                yield from visit(child, True)
            for child in node.orelse:
                yield from visit(child, typing_only)
            return
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("dagger"):
            names = [f"{node.module}.{alias.name}" for alias in node.names] if node.module == "dagger" else []
            yield from ((name, typing_only) for name in names or [node.module or ""])
        elif isinstance(node, ast.Import):
            yield from ((alias.name, typing_only) for alias in node.names if alias.name.startswith("dagger"))
        for child in ast.iter_child_nodes(node):
            yield from visit(child, typing_only)

    yield from visit(tree, False)


def package_imports() -> dict[str, set[tuple[str, bool]]]:
    """The ``dagger`` imports of every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[module] = set(imported(ast.parse(path.read_text())))
    return found


def upward(imports: Imports) -> list[str]:
    """Every import of a module from a layer above its own."""
    found = []
    for module, targets in sorted(imports.items()):
        layer = LAYERS[PART_OF.get(part_of(module), "base")]
        for target, _ in sorted(targets):
            if LAYERS[PART_OF.get(part_of(target), "base")] > layer:
                found.append(f"{module} imports {target}")
    return found


def circles(imports: Imports) -> list[list[str]]:
    """The circles among the parts of the package, through the imports that run."""
    edges: dict[str, set[str]] = {}
    for module, targets in imports.items():
        source = part_of(module)
        edges.setdefault(source, set()).update(
            part_of(target) for target, typing_only in targets if not typing_only and part_of(target) != source
        )
    found: list[list[str]] = []

    def walk(part: str, path: list[str]) -> None:
        for following in sorted(edges.get(part, ())):
            if following == path[0]:
                found.append([*path, following])
            elif following not in path and following > path[0]:
                walk(following, [*path, following])

    for start in sorted(edges):
        walk(start, [start])
    return found


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part_of(module) for module in package_imports()} - {"__init__"}
    assert parts <= set(PART_OF), f"parts without a layer: {parts - set(PART_OF)}"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    assert upward(package_imports()) == []


def test_the_packages_imports_form_no_circle() -> None:
    assert circles(package_imports()) == []


@pytest.mark.parametrize(
    ("module", "target"),
    [
        ("dagger.store.stores", "dagger.service.engineconfig"),
        ("dagger.tasks._engine", "dagger.service.services"),
        ("dagger.modeler.builder_helper", "dagger.store.stores"),
        ("dagger.codec", "dagger.tasks.task"),
    ],
)
def test_an_import_up_the_layers_is_found(module: str, target: str) -> None:
    imports = {**package_imports(), module: {(target, True)}}
    assert upward(imports) == [f"{module} imports {target}"]


def test_a_circle_is_found() -> None:
    imports = {**package_imports(), "dagger.tasks._extra": {("dagger.modeler._creation", False)}}
    assert ["modeler", "tasks", "modeler"] in circles(imports)
