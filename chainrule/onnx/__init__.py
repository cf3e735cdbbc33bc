"""ONNX export: ``cr.onnx.export(model, example_input, "model.onnx")``.

Needs the optional ``onnx`` package (``pip install chainrule[onnx]``, which adds onnxruntime
to run the files); chainrule itself imports without it.
"""

from . import attention, layers, models, recurrent  # noqa: F401  (they register converters)
from .export import DEFAULT_OPSET, MIN_OPSET, export
from .graph import CONVERTERS, ExportError, Graph, Value, converter

__all__ = ["export", "ExportError", "converter", "Graph", "Value", "CONVERTERS",
           "DEFAULT_OPSET", "MIN_OPSET"]
