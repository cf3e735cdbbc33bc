"""TEMPORARY — remove when the engine provides ``Tensor.register_post_accumulate_grad_hook``.

The gradient buckets need to know when a parameter's gradient is final during backward. The
engine branch adds PyTorch's ``Tensor.register_post_accumulate_grad_hook(hook)``: ``hook(leaf)``
is called once per backward, after the leaf's ``.grad`` has received everything it will get.
``register_post_accumulate_grad_hook`` below calls that method when it exists; until then it
wraps this tree's engine to the same effect (a second walk over the graph counts how many
gradients each hooked leaf will receive, and the hook fires when the last one has been added).

The switch, when the engine lands (the one place that names it): in ``buckets.py`` call
``param.register_post_accumulate_grad_hook(self._on_gradient)`` instead of this module's
function, in ``tests/distributed/test_distributed_local.py`` call the method in
``test_post_accumulate_hook_fires_once_with_the_whole_gradient``, and delete this file. Until
then the wrapping below patches ``chainrule.tensor._run_backward`` and ``_accumulate_leaf``, where
the engine lives today; the engine branch moves them to ``autograd.py``, but with the method
present this module never patches anything.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from .. import tensor as _engine
from ..tensor import Tensor

# id(leaf) -> hooks. By id: a Tensor's == is element-wise, so it cannot key a WeakKeyDictionary;
# a weak reference's callback drops the entry when the leaf is collected.
_hooks: dict[int, list] = {}
_refs: dict[int, weakref.ref] = {}
_pending: dict | None = None  # id(leaf) -> gradients still to arrive, during one backward
_installed = False


class _Handle:
    def __init__(self, leaf: Tensor, hook: Callable):
        self._leaf, self._hook = weakref.ref(leaf), hook

    def remove(self) -> None:
        leaf = self._leaf()
        hooks = _hooks.get(id(leaf)) if leaf is not None else None
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks:
                _forget(id(leaf))


def register_post_accumulate_grad_hook(leaf: Tensor, hook: Callable[[Tensor], None]):
    """Call ``hook(leaf)`` once per backward, when ``leaf.grad`` is final; returns a handle with
    ``remove()``."""
    native = getattr(leaf, "register_post_accumulate_grad_hook", None)
    if native is not None:
        return native(hook)
    _install()
    key = id(leaf)
    if key not in _hooks:
        _hooks[key] = []
        _refs[key] = weakref.ref(leaf, lambda _: _forget(key))
    _hooks[key].append(hook)
    return _Handle(leaf, hook)


def _forget(key: int) -> None:
    _hooks.pop(key, None)
    _refs.pop(key, None)


def _install() -> None:
    global _installed
    if _installed:
        return
    original_backward, original_accumulate = _engine._run_backward, _engine._accumulate_leaf

    def accumulate(leaf, g, given_to_leaves):
        original_accumulate(leaf, g, given_to_leaves)
        key = id(leaf)
        if _pending is not None and key in _pending:
            _pending[key] -= 1
            if _pending[key] == 0:
                del _pending[key]
                _fire(leaf)

    def run_backward(root, grad, retain_graph):
        global _pending
        if not _hooks:
            return original_backward(root, grad, retain_graph)
        expected = _incoming_gradients(root)
        _pending = dict(expected)
        try:
            original_backward(root, grad, retain_graph)
        finally:
            partial = [key for key, left in _pending.items() if left < expected[key]]
            _pending = None
        for key in partial:  # some of its gradients were None: it is final now
            _fire(_refs[key]())

    _engine._run_backward, _engine._accumulate_leaf = run_backward, accumulate
    _installed = True


def _incoming_gradients(root: Tensor) -> dict:
    """How many gradient arrays each hooked leaf (by id) can receive in a backward from
    ``root``."""
    counts: dict = {}
    if root._ctx is None:
        return {id(root): 1} if id(root) in _hooks else {}
    seen, stack = {root._ctx}, [root._ctx]
    while stack:
        ctx = stack.pop()
        for parent in ctx.parents or ():
            if parent._ctx is None:
                if parent.requires_grad and id(parent) in _hooks:
                    counts[id(parent)] = counts.get(id(parent), 0) + 1
            elif parent._ctx not in seen:
                seen.add(parent._ctx)
                stack.append(parent._ctx)
    return counts


def _fire(leaf: Tensor) -> None:
    for hook in list(_hooks.get(id(leaf), ())):
        hook(leaf)
