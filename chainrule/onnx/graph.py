"""The ONNX graph under construction: named values, nodes, constants, and the one table from
a layer class to the function that writes its nodes.

A ``Value`` pairs the name of a tensor in the graph with what chainrule computes for it at the
example input. Converters read shapes from those examples (a ``Flatten``'s trailing sizes, an
adaptive pooling's windows) and never bake the batch size into the graph, so one exported file
serves every batch size.

Only ``Graph.build`` needs the ``onnx`` package; everything else is plain Python, so
``chainrule.onnx`` imports without it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["Value", "Graph", "converter", "ExportError", "CONVERTERS"]


class ExportError(TypeError):
    """A model, layer or setting that has no ONNX form (or none written yet)."""


@dataclass(frozen=True)
class Value:
    """A tensor of the graph: its ``name`` and chainrule's value of it at the example input."""

    name: str
    example: np.ndarray

    @property
    def shape(self) -> tuple:
        return self.example.shape


# layer class -> converter(graph, layer, *inputs: Value, **kwargs) -> output name(s), nested
# like the layer's output. Exact classes only: a subclass may compute something else.
CONVERTERS: dict[type, Callable] = {}


def converter(*classes: type) -> Callable:
    """Register the decorated function as the converter of ``classes``."""
    def register(function: Callable) -> Callable:
        for cls in classes:
            CONVERTERS[cls] = function
        return function
    return register


def _example(value):
    """Chainrule's argument for a converter argument: Values become Tensors of their example."""
    if isinstance(value, Value):
        return Tensor(value.example)
    if isinstance(value, (tuple, list)):
        return type(value)(_example(v) for v in value)
    return value


def _pair_up(names, outputs):
    """Values from a converter's output names and the layer's outputs, nested alike."""
    if isinstance(outputs, (tuple, list)):
        if not isinstance(names, (tuple, list)) or len(names) != len(outputs):
            raise ExportError(f"a converter returned {names!r} for a layer with "
                              f"{len(outputs)} outputs")
        return tuple(_pair_up(n, o) for n, o in zip(names, outputs))
    if outputs is None:
        return None
    return Value(names, outputs.data if isinstance(outputs, Tensor) else np.asarray(outputs))


class Graph:
    """Nodes and constants of one export, at one opset.

    Example:
        >>> g = Graph(opset=17)
        >>> g.op("Relu", "x")
        'Relu_0'
    """

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list[tuple[str, list[str], list[str], dict]] = []
        self.constants: dict[str, np.ndarray] = {}
        self._counter = itertools.count()

    def fresh(self, hint: str) -> str:
        """A name not used before in this graph."""
        return f"{hint}_{next(self._counter)}"

    def constant(self, array, hint: str = "const") -> str:
        """Store ``array`` as an initializer; its name."""
        name = self.fresh(hint)
        self.constants[name] = np.ascontiguousarray(array)
        return name

    def ints(self, values) -> str:
        """An int64 vector constant (shapes, axes, indices)."""
        return self.constant(np.asarray(values, dtype=np.int64), "ints")

    def scalar(self, value, dtype) -> str:
        """A 0-d constant of ``dtype`` (a float computation must stay in its own dtype)."""
        return self.constant(np.asarray(value, dtype=dtype), "scalar")

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attributes):
        """Add a node; its output name, or a tuple of ``outputs`` names. An input given as
        ``""`` is an omitted optional input."""
        names = [self.fresh(op_type) for _ in range(outputs)]
        given = list(inputs)
        while given and given[-1] == "":  # trailing optional inputs are left out
            given.pop()
        self.nodes.append((op_type, given, names, attributes))
        return names[0] if outputs == 1 else tuple(names)

    @staticmethod
    def tensor_type(dtype) -> int:
        """ONNX's code of a NumPy dtype (the ``to`` of a Cast)."""
        from onnx import helper

        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def reduce(self, op_type: str, x: str, axes, keepdims: bool = True) -> str:
        """A Reduce* node over ``axes``: an attribute before opset 18 (ReduceSum: 13), an input
        after, as the operator's version at this opset requires."""
        keep = int(keepdims)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.ints(axes), keepdims=keep)
        return self.op(op_type, x, axes=list(axes), keepdims=keep)

    def produces(self, value: str) -> bool:
        """Whether a node of the graph computes ``value`` (not the input or a constant)."""
        return any(value in outs for _, _, outs, _ in self.nodes)

    def rename(self, value: str, name: str) -> None:
        """Call ``value`` ``name`` in every node that makes or reads it."""
        for _, inputs, outs, _ in self.nodes:
            inputs[:] = [name if v == value else v for v in inputs]
            outs[:] = [name if v == value else v for v in outs]

    def convert(self, module: Module, *inputs, **kwargs):
        """The nodes of ``module`` applied to ``inputs`` (Values; keyword arguments may be
        Values or plain settings); its output Values, nested as the module's output."""
        function = CONVERTERS.get(type(module))
        if function is None:
            raise ExportError(
                f"cr.onnx.export: no ONNX converter for {type(module).__name__} ({module!r}); "
                f"layers with converters: {', '.join(sorted(c.__name__ for c in CONVERTERS))}"
            )
        # chainrule runs first: its own checks report inputs the layer cannot take. (Each
        # nesting level runs its layers again: examples should be small.)
        outputs = module(*_example(inputs), **{k: _example(v) for k, v in kwargs.items()})
        return _pair_up(function(self, module, *inputs, **kwargs), outputs)

    def build(self, inputs: list, outputs: list, name: str):
        """The ``onnx.ModelProto`` of this graph; ``inputs`` and ``outputs`` are
        ``(name, dtype, shape)`` with None or a string for a symbolic axis."""
        from onnx import helper, numpy_helper

        def info(entry):
            value_name, dtype, shape = entry
            return helper.make_tensor_value_info(value_name, self.tensor_type(dtype), list(shape))

        nodes = [helper.make_node(op_type, ins, outs, name=outs[0], **attributes)
                 for op_type, ins, outs, attributes in self.nodes]
        initializers = [numpy_helper.from_array(array, key) for key, array in
                        self.constants.items()]
        graph = helper.make_graph(nodes, name, [info(e) for e in inputs],
                                  [info(e) for e in outputs], initializers)
        opsets = [helper.make_opsetid("", self.opset)]
        # The oldest IR version that has this opset: runtimes older than the onnx package
        # read the file too.
        return helper.make_model(graph, opset_imports=opsets, producer_name="chainrule",
                                 ir_version=helper.find_min_ir_version_for(opsets))
