"""The recorded graph as explain reads it: the one place that touches the engine's op records.

``creation_mark``, ``recorded_ops`` and ``grad_fn`` have the signatures of the engine's public
recorded-ops API; until that API is in ``chainrule.autograd``, they read the engine's fields
here (and only here), so switching is a change of imports in this file.
"""

from __future__ import annotations

import operator

from .. import tensor as _engine
from ..tensor import Function, Tensor

__all__ = ["creation_mark", "recorded_ops", "grad_fn"]

_order = operator.attrgetter("order")  # set on an op when it is recorded


def creation_mark() -> int:
    """A point in the order of op creation: ops recorded before the call have a smaller
    ``order``, ops recorded after it a larger one.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0], requires_grad=True)
        >>> mark = creation_mark()
        >>> y = (x * 2).exp()
        >>> [op.name for _, op in recorded_ops(y, since=mark)]
        ['Mul', 'Exp']
    """
    return next(_engine._op_counter)


def recorded_ops(output: Tensor, since: int) -> list[tuple[Tensor, Function]]:
    """The ops recorded after ``since`` (a ``creation_mark()``) that ``output`` depends on, each
    with the tensor it made, in creation order. The walk stops at ops recorded before
    ``since`` and at leaves."""
    found: list[tuple[Tensor, Function]] = []
    seen: set[int] = set()
    stack = [output]
    while stack:
        t = stack.pop()
        op = t._ctx
        if op is None or id(t) in seen or op.order < since:
            continue
        seen.add(id(t))
        found.append((t, op))
        stack.extend(op.parents)
    found.sort(key=lambda pair: _order(pair[1]))
    return found


def grad_fn(tensor: Tensor) -> Function | None:
    """The op that made ``tensor`` (None for a leaf or a tensor made without recording)."""
    return tensor._ctx
