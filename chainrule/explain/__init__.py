"""Explain backpropagation: every term of the chain rule for a real model, numerically checked.

``cr.explain(model, x, y, loss)`` runs one forward and backward pass and returns an
``Explanation``: the forward values layer by layer (``z[l] = W[l] a[l-1] + b[l]``,
``a[l] = g(z[l])``), the loss with its formula, the backward terms in reverse
(``∂J/∂a[l]``, ``∂J/∂z[l] = ∂J/∂a[l] ⊙ g'(z[l])``, ``∂J/∂W[l]``, ``∂J/∂b[l]``, ``∂J/∂a[l-1]``),
each formula term checked against the backward rules, and a whole-model gradient check
against central differences. It only reads: training with and without it is identical.

``cr.explain`` is the function ``explain``: ``chainrule/__init__.py`` exports it under the
package's name. The package's other public names are importable from it as usual
(``from chainrule.explain import GradientMonitor``) and also ride on the function as attributes,
so ``cr.explain.GradientMonitor`` is the same class. (``import chainrule.explain as m`` binds
the function too, as Python resolves it through the attribute: import names from the package.)

Example:
    >>> import chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.Sigmoid(), cr.nn.Linear(2, 1))
    >>> e = cr.explain(net, [[0.0, 1.0]], [[1.0]], loss="mse")
    >>> e.verified
    True
    >>> cr.explain.GradientMonitor is GradientMonitor
    True
"""

from __future__ import annotations

from .check import LayerCheck, ParameterCheck, check_model
from .explanation import Explanation, LayerView, Quantity
from .monitor import GradientMonitor
from .trace import record as _record
from .views import build as _build

__all__ = ["explain", "Explanation", "LayerView", "Quantity", "LayerCheck", "ParameterCheck",
           "check_model", "GradientMonitor"]


def explain(model, x, y, loss="mse", check: bool = True, max_elements: int = 24) -> Explanation:
    """Explain one forward/backward pass of ``model`` on the batch ``(x, y)``.

    Args:
        model: any chainrule ``Module``; its output ``h`` is the tensor it returns (the first,
            when it returns several, as a language model's ``(logits, state)``).
        x: a batch of inputs (rows are samples); y: the targets.
        loss: a callable ``(output, target) -> scalar`` or a loss name ("mse",
            "cross_entropy", ...).
        check: also run the whole-model gradient check (central differences, float64).
        max_elements: entries per parameter the check compares (a seeded sample if larger,
            drawn mostly where backward's gradient is not zero).

    Returns:
        An ``Explanation``; ``print(e)`` shows it, ``e.to_dict()``/``e.to_html(path)`` export it.

    A model on a GPU is explained on the host, through a copy: the model itself is not moved.
    """
    from ..backend import to_host
    from ..nn.loss import get_loss
    from ..tensor import Tensor

    loss_fn = get_loss(loss)
    if any(parameter.device != "cpu" for parameter in model.parameters()):
        import copy

        model = copy.deepcopy(model).to("cpu")
    x = Tensor(to_host(x.data)) if isinstance(x, Tensor) else x
    y = Tensor(to_host(y.data)) if isinstance(y, Tensor) else y
    if not isinstance(y, Tensor):
        import numpy as np

        y_array = np.asarray(y)
        x_dtype = np.asarray(x.data if isinstance(x, Tensor) else x).dtype
        if y_array.dtype == np.float64 and x_dtype != np.float64:
            y_array = y_array.astype(np.float32)
        y = Tensor(y_array)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    explanation = _build(_record(model, x, y, loss_fn), type(model).__name__)
    if check:
        results, _ = check_model(model, x, y, loss_fn, max_elements=max_elements)
        explanation.attach_check(results)
    return explanation


# The attributes that make ``cr.explain.NAME`` the package's ``NAME`` (see the docstring).
explain.__dict__.update({name: globals()[name] for name in __all__ if name != "explain"})
