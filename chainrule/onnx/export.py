"""``export``: a chainrule model as an ONNX file, checked by ``onnx.checker``."""

from __future__ import annotations

import os

import numpy as np

from ..autograd import no_grad
from ..nn.module import Module
from ..tensor import Tensor
from .graph import Graph, Value

__all__ = ["export", "DEFAULT_OPSET", "MIN_OPSET"]

DEFAULT_OPSET = 17  # LayerNormalization and STFT appear here; every current runtime has it
MIN_OPSET = 17


def _require_onnx():
    try:
        import onnx
        import onnx.checker  # noqa: F401  (a folder named onnx on the path is not the package)
    except ImportError:
        raise ImportError("cr.onnx.export needs the onnx package: pip install chainrule[onnx]"
                          ) from None
    return onnx


def _flat(tree) -> list:
    """The leaves of nested tuples, in order (a model's outputs, e.g. ``(logits, (h, c))``)."""
    if isinstance(tree, tuple):
        return [leaf for branch in tree for leaf in _flat(branch)]
    return [] if tree is None else [tree]


def _probes(example: np.ndarray) -> dict[int, np.ndarray]:
    """Inputs that differ from the example along one axis that may be symbolic: the batch
    (axis 0), and the sequence (axis 1) of token ids (N, T) and of sequences (N, T, F)."""
    probes = {0: np.repeat(example[:1], 3 if len(example) == 2 else 2, axis=0)}
    is_sequence = example.ndim == (2 if example.dtype.kind in "iu" else 3)
    if is_sequence and example.shape[1] > 1:
        probes[1] = example[:, :-1]
    return probes


def _symbolic_shapes(model: Module, example: np.ndarray, outputs: list) -> tuple[list, list]:
    """The declared input and output shapes: axis 0 is "batch"; axis 1 of a sequence is
    "sequence" when the model accepts another length; an output axis is symbolic when it
    follows one of those (found by running the model on the probes)."""
    names = {0: "batch", 1: "sequence"}
    inputs: list = list(example.shape)
    shapes = [list(v.shape) for v in outputs]
    for axis, probe in _probes(example).items():
        try:
            probed = _flat(model(Tensor(probe)))
        except (ValueError, TypeError, IndexError):
            if axis == 0:
                raise
            continue  # a fixed length (e.g. the channels of a BatchNorm1d): the axis stays
        inputs[axis] = names[axis]
        for shape, other in zip(shapes, probed):
            for index, size in enumerate(other.shape):
                if size != shape[index] and not isinstance(shape[index], str):
                    shape[index] = names[axis]
    return inputs, shapes


def export(model: Module, example_input, path: str | os.PathLike, opset: int | None = None,
           dynamic_batch: bool = True):
    """Write ``model`` in evaluation mode as an ONNX graph that computes what chainrule does.

    Each layer becomes ONNX operators through its converter (``chainrule.onnx.CONVERTERS``):
    dense, convolution, pooling, normalisation (running statistics), activations, embedding,
    ONNX's own RNN/LSTM/GRU (gates reordered), attention and the Transformer encoder as
    MatMul/Softmax graphs, the built-in text models and the speech front end. A layer without
    a converter raises ``ExportError`` naming it. The file is checked with
    ``onnx.checker.check_model(full_check=True)`` before it is written.

    Args:
        model: a chainrule ``Module`` (its training mode is restored afterwards).
        example_input: one input batch (array or Tensor); it fixes the sizes that are not
            symbolic (see ``dynamic_batch``). Chainrule runs the layers on it while
            converting them, so one or two samples are enough.
        path: the ``.onnx`` file to write.
        opset: ONNX operator set, ``MIN_OPSET`` (17) or newer; ``DEFAULT_OPSET`` when None.
        dynamic_batch: make axis 0 of the input symbolic ("batch"), and axis 1 of token ids
            ``(N, T)`` or sequences ``(N, T, F)`` ("sequence") when the model accepts other
            lengths; the outputs' axes that follow them too. (A time-major layer has its time
            axis first: there the names are swapped.) False fixes every size to the example's.

    Returns:
        the ``onnx.ModelProto`` written. Inputs are named ``input``, outputs ``output`` (or
        ``output_0``, ``output_1``, … for a model returning several tensors, flattened).

    Raises:
        ImportError: without the onnx package (``pip install chainrule[onnx]``).
        ExportError: a layer or setting without an ONNX form.

    Example:
        >>> import numpy as np, chainrule as cr, tempfile, os
        >>> model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 2))
        >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
        >>> proto = cr.onnx.export(model, np.zeros((1, 4), np.float32), path)
        >>> [node.op_type for node in proto.graph.node]
        ['Gemm', 'Relu', 'Gemm']
    """
    onnx = _require_onnx()
    opset = DEFAULT_OPSET if opset is None else int(opset)
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"cr.onnx.export: opset must be in [{MIN_OPSET}, {newest}] (the onnx "
                         f"package's newest), got {opset}")
    if not isinstance(model, Module):
        raise TypeError(f"cr.onnx.export: model must be a chainrule Module, got "
                        f"{type(model).__name__}")
    example = np.asarray(example_input.data if isinstance(example_input, Tensor)
                         else example_input)
    if example.ndim == 0 or example.dtype.kind not in "fiu":
        raise ValueError(f"cr.onnx.export: example_input must be a batch of numbers, got "
                         f"{example.dtype} array of shape {example.shape}")
    graph = Graph(opset)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = _flat(graph.convert(model, Value("input", example)))
            if dynamic_batch:
                input_shape, shapes = _symbolic_shapes(model, example, outputs)
            else:
                input_shape, shapes = list(example.shape), [list(v.shape) for v in outputs]
    finally:
        model.train(was_training)
    names = ["output"] if len(outputs) == 1 else [f"output_{i}" for i in range(len(outputs))]
    renamed: dict[str, str] = {}
    for value, name in zip(outputs, names):
        if value.name not in renamed and graph.produces(value.name):
            graph.rename(value.name, name)
            renamed[value.name] = name
        else:  # the input itself, a constant, or an output listed twice
            graph.nodes.append(("Identity", [renamed.get(value.name, value.name)], [name], {}))
    proto = graph.build(
        inputs=[("input", example.dtype, input_shape)],
        outputs=[(n, v.example.dtype, s) for n, v, s in zip(names, outputs, shapes)],
        name=type(model).__name__)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(path))
    return proto
