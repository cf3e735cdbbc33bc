"""Derivatives of whole functions: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``, with
PyTorch's names, signatures and shapes (``torch.autograd.functional``).

``func`` takes one tensor or a tuple of them (``inputs``) and returns one tensor or a tuple.
The inputs are differentiated as given: detached copies that require grad, or with
``create_graph=True`` the inputs themselves where they require grad, so the results can be
differentiated again with respect to them. Without ``create_graph`` the results hold no graph.
A result for an input that an output does not depend on is zeros (``strict=True`` raises
instead). Everything is built on ``cr.autograd.grad``: ``jvp`` by the double-vjp trick
(``J v = d/du (Jᵀu · v)``), ``jacobian`` one vector-Jacobian product per output element,
``hessian`` the Jacobian of the gradient, ``hvp`` the gradient of ``∇f · v``.

Example:
    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import hessian, jvp
    >>> x = cr.tensor([1.0, 2.0])
    >>> hessian(lambda t: (t ** 3).sum(), x)  # diag(6x)
    tensor([[ 6.,  0.],
           [ 0., 12.]])
    >>> jvp(lambda t: t * t, x, cr.tensor([1.0, 1.0]))[1]  # 2x · v
    tensor([2., 4.])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor, stack
from . import grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp"]

Func = Callable[..., Any]


def _as_tuple(value: Any, what: str) -> tuple[tuple[Tensor, ...], bool]:
    """``(tensors, was_tuple)``: one tensor or a tuple/list of tensors, checked."""
    if isinstance(value, Tensor):
        return (value,), False
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, Tensor) for v in value):
        return tuple(value), True
    raise TypeError(f"{what} must be a tensor or a tuple of tensors, got {type(value).__name__}")


def _prepare(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """The tensors to differentiate: kept on the caller's graph (an identity op) under
    ``create_graph`` where they require grad, else detached copies that require grad."""
    prepared = []
    for i, x in enumerate(inputs):
        if x.dtype.kind != "f":
            raise TypeError(f"input {i} has dtype {x.dtype}: only floating-point inputs can be "
                            "differentiated")
        prepared.append(x.reshape(x.shape) if create_graph and x.requires_grad
                        else Tensor(x.data, requires_grad=True))
    return tuple(prepared)


def _finish(values: tuple[Any, ...], create_graph: bool) -> tuple[Any, ...]:
    return values if create_graph else tuple(
        None if v is None else Tensor(v.data) for v in values)


def _grads(outputs: tuple[Tensor, ...], inputs: tuple[Tensor, ...], grad_outputs: Any,
           create_graph: bool, strict: bool) -> tuple[Tensor, ...]:
    """``Σ_k Jₖᵀ vₖ`` for every input (zeros where unused; ``strict``: raise)."""
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    found: tuple[Any, ...] = (None,) * len(inputs)
    if live:
        found = grad([o for o, _ in live], list(inputs), [g for _, g in live],
                     retain_graph=True, create_graph=create_graph, allow_unused=True)
    results = []
    for i, (x, g) in enumerate(zip(inputs, found)):
        if g is None:
            if strict:
                raise RuntimeError(f"strict=True: the output does not depend on input {i} "
                                   f"(shape {x.shape})")
            g = Tensor(np.zeros(x.shape, dtype=x.dtype))
        results.append(g)
    return tuple(results)


def _outputs(func: Func, inputs: tuple[Tensor, ...]) -> tuple[tuple[Tensor, ...], bool]:
    return _as_tuple(func(*inputs), "the output of func")


def _vectors(v: Any, like: tuple[Tensor, ...], what: str) -> tuple[Tensor, ...]:
    if v is None:
        if any(t.size != 1 for t in like):
            raise RuntimeError(f"{what}: v can be omitted only when every tensor it pairs "
                               "with has one element")
        return tuple(Tensor(np.ones(t.shape, dtype=t.dtype)) for t in like)
    vectors, _ = _as_tuple(v, f"{what}: v")
    if len(vectors) != len(like) or any(a.shape != b.shape for a, b in zip(vectors, like)):
        raise ValueError(f"{what}: v has shapes {[t.shape for t in vectors]}, expected "
                         f"{[t.shape for t in like]}")
    return vectors


def _shaped(values: tuple[Any, ...], was_tuple: bool) -> Any:
    return values if was_tuple else values[0]


def vjp(func: Func, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), vᵀ J)``: the vector-Jacobian product, one per input.

    Args:
        v: one tensor per output, of its shape (may be omitted for a one-element output).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.autograd.functional import vjp
        >>> vjp(lambda x: x * x, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 0.5]))[1]
        tensor([2., 2.])
    """
    xs, inputs_tuple = _as_tuple(inputs, "vjp: inputs")
    xs = _prepare(xs, create_graph)
    outs, outputs_tuple = _outputs(func, xs)
    result = _grads(outs, xs, _vectors(v, outs, "vjp"), create_graph, strict)
    return (_shaped(_finish(outs, create_graph), outputs_tuple),
            _shaped(_finish(result, create_graph), inputs_tuple))


def jvp(func: Func, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), J v)``: the Jacobian-vector product, one per output, by the double-vjp
    trick (``Jᵀu`` is linear in ``u``; its vector-Jacobian product with ``v`` is ``J v``).

    Args:
        v: one tensor per input, of its shape (may be omitted for one-element inputs).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.autograd.functional import jvp
        >>> jvp(lambda x: x.sum() * x, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 0.0]))[1]
        tensor([4., 2.])
    """
    xs, inputs_tuple = _as_tuple(inputs, "jvp: inputs")
    vectors = _vectors(v, xs, "jvp")
    xs = _prepare(xs, create_graph)
    outs, outputs_tuple = _outputs(func, xs)
    dummies = tuple(Tensor(np.zeros(o.shape, dtype=o.dtype), requires_grad=True) for o in outs)
    transposed = _grads(outs, xs, dummies, True, strict)  # Jᵀu, recorded as a function of u
    result = _grads(transposed, dummies, vectors, create_graph, strict)
    return (_shaped(_finish(outs, create_graph), outputs_tuple),
            _shaped(_finish(result, create_graph), outputs_tuple))


def jacobian(func: Func, inputs: Any, create_graph: bool = False, strict: bool = False
             ) -> Any:
    """``∂func(inputs)/∂inputs``: for one output and one input a tensor of shape
    ``output.shape + input.shape``; a tuple over inputs for a tuple of inputs, and a tuple
    over outputs (of those) for a tuple of outputs. One vector-Jacobian product per output
    element (reverse mode).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.autograd.functional import jacobian
        >>> jacobian(lambda x: x * x, cr.tensor([1.0, 2.0]))
        tensor([[2., 0.],
               [0., 4.]])
    """
    xs, inputs_tuple = _as_tuple(inputs, "jacobian: inputs")
    xs = _prepare(xs, create_graph)
    outs, outputs_tuple = _outputs(func, xs)
    per_output = []
    for out in outs:
        rows: list[tuple[Tensor, ...]] = []
        for k in range(out.size):
            basis = np.zeros(out.size, dtype=out.dtype)
            basis[k] = 1
            basis_outputs = [Tensor(basis.reshape(out.shape) if o is out else np.zeros(
                o.shape, dtype=o.dtype)) for o in outs]
            rows.append(_grads(outs, xs, basis_outputs, create_graph, strict))
        blocks = []
        for i, x in enumerate(xs):
            column = [row[i] for row in rows]
            block = stack(column) if create_graph else Tensor(
                np.stack([c.data for c in column]) if column else np.zeros((0, *x.shape)))
            blocks.append(block.reshape(*out.shape, *x.shape))
        per_output.append(_shaped(tuple(blocks), inputs_tuple))
    return _shaped(tuple(per_output), outputs_tuple)


def hessian(func: Func, inputs: Any, create_graph: bool = False, strict: bool = False) -> Any:
    """``∂²func(inputs)/∂inputs²`` of a function with one one-element output: for one input a
    tensor of shape ``input.shape + input.shape``; for a tuple of inputs a tuple of tuples
    (block ``[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.autograd.functional import hessian
        >>> hessian(lambda x, y: (x * y).sum(), (cr.tensor([1.0]), cr.tensor([2.0])))[0][1]
        tensor([[1.]])
    """
    xs, inputs_tuple = _as_tuple(inputs, "hessian: inputs")

    def gradient(*args: Tensor) -> Any:
        out = _scalar_output(func, args, "hessian")
        grads = _grads((out,), args, (Tensor(np.ones(out.shape, dtype=out.dtype)),), True,
                       strict)
        return _shaped(grads, inputs_tuple)

    return jacobian(gradient, xs if inputs_tuple else xs[0], create_graph=create_graph,
                    strict=strict)


def hvp(func: Func, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), H v)``: the Hessian-vector product of a function with one one-element
    output, without forming the Hessian (the gradient of ``∇f · v``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.autograd.functional import hvp
        >>> hvp(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))[1]
        tensor([ 6., 12.])
    """
    xs, inputs_tuple = _as_tuple(inputs, "hvp: inputs")
    vectors = _vectors(v, xs, "hvp")
    xs = _prepare(xs, create_graph)
    out = _scalar_output(func, xs, "hvp")
    gradient = _grads((out,), xs, (Tensor(np.ones(out.shape, dtype=out.dtype)),), True, strict)
    result = _grads(gradient, xs, vectors, create_graph, strict)
    return (_finish((out,), create_graph)[0], _shaped(_finish(result, create_graph),
                                                      inputs_tuple))


def _scalar_output(func: Func, inputs: tuple[Tensor, ...], what: str) -> Tensor:
    out = func(*inputs)
    if not isinstance(out, Tensor) or out.size != 1:
        raise RuntimeError(f"{what}: func must return a tensor with one element, got "
                           f"{getattr(out, 'shape', type(out).__name__)}")
    return out
