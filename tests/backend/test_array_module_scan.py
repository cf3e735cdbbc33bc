"""No direct NumPy calls in the math paths outside ``chainrule.backend``: ops, layers, init,
functional, losses, optimizers, schedulers, metrics and the training loop take their array
module from their inputs (``backend.array_module``) or call a backend helper, so the same code
runs on a GPU (CuPy arrays). Read from the source with ``ast``; nothing is imported.

A call ``np.<name>(...)`` is refused unless ``<name>`` only describes dtypes (``np.dtype``,
``np.finfo``, ``np.float32(…)``) or the call sits in a function of the allow-list below, each
entry saying why it is host-only by design. The list must stay exact: an entry that no longer
has a NumPy call fails too, so it only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "chainrule"

MATH_PATHS = ["tensor.py", "autograd", "ops", "nn", "optim", "train", "data/loader.py"]

# Calls that touch no array data: dtypes, their limits, NumPy scalar constructors.
DTYPE_NAMES = {"dtype", "finfo", "iinfo", "result_type", "issubdtype", "promote_types",
               "can_cast", "float16", "float32", "float64", "int32", "int64", "uint8", "bool_",
               "isscalar"}

# (file, function) -> why its NumPy calls are host-only. Functions are named by their
# qualified name (Class.method).
HOST_ONLY = {
    # Parameters are made on the host, as in PyTorch; Module.to moves them.
    ("nn/attention.py", "MultiheadAttention.__init__"): "parameters are made on the host",
    ("nn/embedding.py", "Embedding.__init__"): "parameters are made on the host",
    ("nn/linear.py", "Linear.__init__"): "parameters are made on the host",
    ("nn/normalization.py", "_BatchNorm.__init__"): "parameters and buffers on the host",
    ("nn/recurrent.py", "_add_weights"): "parameters are made on the host",
    # A constant table computed once on the host, then copied once per device.
    ("nn/transformer.py", "PositionalEncoding.table"): "a constant computed on the host once",
    # A user-facing constructor of a mask, returned as a NumPy array (moved where it is used).
    ("nn/functional/attention.py", "causal_mask"): "returns a host mask by contract",
    # Sums of a few numbers per output, kept on the host so processes can merge them.
    ("train/metrics.py", "_R2Stream.result"): "host float64 sums",
    # Shuffling orders: indices drawn by the loader's NumPy generator, on the host.
    ("data/loader.py", "_own_generator"): "the loader's host generator",
    # Converting user input (Python data) to an array happens on the host first.
    ("tensor.py", "Tensor.__init__"): "Python data becomes a host array",
    ("tensor.py", "Tensor.__array__"): "the NumPy protocol, on the host by definition",
    ("tensor.py", "Tensor.__repr__"): "printing happens on the host",
    ("autograd/__init__.py", "Function.apply"): "NumPy scalars from 0-d ufuncs become 0-d arrays",
    ("nn/conv.py", "_ConvNd._setup"): "parameters are made on the host",
    ("nn/normalization.py", "_affine"): "parameters are made on the host",
    # A state read from a file is validated on the host before it goes to the device.
    ("optim/optimizer.py", "Optimizer._restore"): "file input checked on the host",
    # Arguments given as Python data, read on the host: shapes and pad widths, no array data.
    ("tensor.py", "Tensor.broadcast_to"): "shape arithmetic (np.broadcast_shapes) only",
    ("tensor.py", "_pad_pairs"): "pad widths given as Python data",
}


def _files():
    for entry in MATH_PATHS:
        path = PACKAGE / entry
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _numpy_calls(tree: ast.AST):
    """(qualified function name, 'np.name', line) of each NumPy call outside dtype names."""
    found = []

    def visit(node, scope):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, [*scope, child.name])
                continue
            if isinstance(child, ast.Call):
                chain, func = [], child.func
                while isinstance(func, ast.Attribute):
                    chain.append(func.attr)
                    func = func.value
                if isinstance(func, ast.Name) and func.id in ("np", "numpy") and chain:
                    name = ".".join(reversed(chain))
                    if name.split(".")[0] not in DTYPE_NAMES:
                        found.append((".".join(scope), f"np.{name}", child.lineno))
            visit(child, scope)

    visit(tree, [])
    return found


def test_math_paths_call_numpy_only_through_the_backend():
    offenders, used = [], set()
    for path in _files():
        relative = path.relative_to(PACKAGE).as_posix()
        for function, call, line in _numpy_calls(ast.parse(path.read_text())):
            if (relative, function) in HOST_ONLY:
                used.add((relative, function))
            else:
                offenders.append(f"chainrule/{relative}:{line} {call} in {function or 'module'}")
    assert not offenders, ("direct NumPy calls in math paths (use backend.array_module(x) or a "
                           "backend helper, or list a host-only function):\n" +
                           "\n".join(offenders))
    stale = sorted(set(HOST_ONLY) - used)
    assert not stale, f"allow-list entries without NumPy calls any more: {stale}"


def test_the_scan_finds_a_direct_call():
    tree = ast.parse("import numpy as np\nclass A:\n    def f(self, x):\n"
                     "        return np.zeros(3) + np.float32(1) + np.lib.stride_tricks.x(x)\n")
    assert _numpy_calls(tree) == [("A.f", "np.zeros", 4), ("A.f", "np.lib.stride_tricks.x", 4)]
