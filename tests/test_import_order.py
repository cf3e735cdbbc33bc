"""The package's layering, read from the source (``ast``; nothing is imported): no module imports
from a layer above its own, and no modules import each other in a circle.

Imports inside functions count (a deferred import is still a dependency); imports under
``if TYPE_CHECKING:`` do not (they never run: annotations may name a class from above).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chainrule"

# The layers, lowest first: a module may import from its own layer and the ones before it.
# A module belongs to the longest name below that is its own or a package's above it ("chainrule"
# itself names only the package's __init__). Parts of a package may sit in different layers (the
# distributed package: its world below the loaders, its fit callback beside train).
#   base      array modules and kernels, seeds, name lookups, which process is which
#   autograd  the engine: Function, grad mode, versions, backward (knows Tensor only by
#             registration, never by import)
#   ops       the differentiable primitives, on arrays
#   tensor    Tensor, whose methods call the ops; gradcheck; the autograd parts on tensors (NumPy's
#             names as ops for double backward, the functional API)
#   nn        modules, layers, nn.functional
#   optim/data/io   optimizers, loaders, saving
#   train     fit, callbacks, metrics, checkpoints
#   apps      explain, text, audio, models, datasets, exporters, estimators, the playground
#   surface   the package's __init__: the public names of everything below
#   cli       the command line and each feature's subcommand, which use the surface
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("chainrule.backend", "chainrule.random", "chainrule.names", "chainrule.cuda",
              "chainrule.distributed.world", "chainrule.distributed.sharding")),
    ("autograd", ("chainrule.autograd",)),
    ("ops", ("chainrule.ops",)),
    ("tensor", ("chainrule.tensor", "chainrule.gradcheck", "chainrule.autograd.tensor_math",
                "chainrule.autograd.functional", "chainrule.functions")),
    ("nn", ("chainrule.nn", "chainrule.distributed.collectives",
            "chainrule.distributed.sync_batchnorm")),
    ("optim/data/io", ("chainrule.optim", "chainrule.data", "chainrule.io",
                       "chainrule.distributed")),
    ("train", ("chainrule.train", "chainrule.compile", "chainrule.distributed.fitting")),
    ("apps", ("chainrule.explain", "chainrule.text", "chainrule.audio", "chainrule.models",
              "chainrule.datasets", "chainrule.onnx", "chainrule.sklearn",
              "chainrule.playground")),
    ("surface", ("chainrule",)),
    ("cli", ("chainrule.cli", "chainrule.commands", "chainrule.explain.command",
             "chainrule.text.command", "chainrule.distributed.command", "chainrule.onnx.command",
             "chainrule.playground.command")),
]
ROOT = "chainrule"

# Upward imports found when this test was written, each to be removed (then delete its line:
# the test fails while a listed import no longer exists, so the list only shrinks).
KNOWN_UPWARD: set[tuple[str, str]] = set()  # all removed (ops import no Tensor)
KNOWN_CYCLES: set[frozenset[str]] = {
    # explanation builds the views the renderers draw; the renderers read its dataclasses.
    frozenset({"chainrule.explain.explanation", "chainrule.explain.render_html",
               "chainrule.explain.render_text"}),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
            else:
                stack.append(child)


def _imports(module: str) -> set[str]:
    """The package modules ``module`` imports (``from X import y`` imports ``X.y`` when that is
    a module, else ``X``)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in MODULES else source)
    return {name for name in found if name in MODULES and name != module}


def _layer(module: str) -> int:
    best, index = "", None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            below = prefix != ROOT and module.startswith(prefix + ".")
            if (module == prefix or below) and len(prefix) > len(best):
                best, index = prefix, i
    if index is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")
    return index


GRAPH = {module: _imports(module) for module in MODULES}


def _upward(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(m, n) for m, deps in graph.items() for n in deps if _layer(n) > _layer(m)}


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = set()
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


def test_no_module_imports_from_a_layer_above_its_own():
    new = sorted(_upward(GRAPH) - KNOWN_UPWARD)
    assert not new, "upward imports (module -> what it imports):\n" + "\n".join(
        f"  {m} ({LAYERS[_layer(m)][0]}) -> {n} ({LAYERS[_layer(n)][0]})" for m, n in new)


def test_no_modules_import_each_other_in_a_circle():
    new = _cycles(GRAPH) - KNOWN_CYCLES
    assert not new, "import cycles:\n" + "\n".join("  " + ", ".join(sorted(c)) for c in new)


@pytest.mark.parametrize("known", sorted(KNOWN_UPWARD) + sorted(map(sorted, KNOWN_CYCLES)),
                         ids=str)
def test_known_exceptions_still_exist(known):
    """A fixed exception must leave the lists, so they never hide a new one."""
    if isinstance(known, tuple):
        assert known in _upward(GRAPH), f"{known} is fixed: remove it from KNOWN_UPWARD"
    else:
        assert frozenset(known) in _cycles(GRAPH), f"{known} is fixed: remove from KNOWN_CYCLES"


def test_the_parser_reads_imports_as_written():
    assert "chainrule.autograd" in GRAPH["chainrule.ops.elementwise"]  # from ..autograd import
    assert "chainrule.ops.elementwise" in GRAPH["chainrule.tensor"]  # from .ops.elementwise
    assert "chainrule.random" in GRAPH["chainrule.explain.trace"]  # from .. import random
    assert "chainrule.tensor" not in GRAPH["chainrule.autograd"]  # only under TYPE_CHECKING


def test_the_checks_can_fail():
    graph = {"chainrule.autograd": {"chainrule.tensor"}, "chainrule.tensor": {"chainrule.nn"},
             "chainrule.nn": {"chainrule.nn.linear"}, "chainrule.nn.linear": {"chainrule.nn"}}
    assert _upward(graph) == {("chainrule.autograd", "chainrule.tensor"),
                              ("chainrule.tensor", "chainrule.nn")}
    assert _cycles(graph) == {frozenset({"chainrule.nn", "chainrule.nn.linear"})}
