"""Einstein summation over explicit subscripts (``"ij,jk->ik"``).

The gradient of each operand is another einsum: the output gradient contracted with the
other operands, onto the operand's own subscripts. A letter found in no other operand nor in
the output was summed out of this operand alone; its gradient is broadcast back along it. An
axis of length 1 that broadcast against a longer one has its gradient summed back.
``chainrule.nn.functional.einsum`` normalises the subscripts first (ellipses spelled out, the
output made explicit) and rejects a letter repeated within one operand (a diagonal).
"""

from __future__ import annotations

import string
from typing import Any

from ..autograd import Function
from ..backend import array_module
from .elementwise import unbroadcast

__all__ = ["Einsum"]


class Einsum(Function):
    """y = einsum(inputs → output, x₁, …, xₙ);
    dL/dxᵢ = einsum(output, {xⱼ}ⱼ≠ᵢ → inputsᵢ, dL/dy, {xⱼ}ⱼ≠ᵢ) (broadcast along letters only
    xᵢ has)

    ``inputs``: one string of distinct letters per operand; ``output``: distinct letters, each
    found in some operand.
    """

    replayable = True  # the rule reads the saved inputs and constants only

    def forward(self, *operands: Any, inputs: list[str], output: str) -> Any:
        # One attribute per operand, not a tuple: the double-backward replay finds saved
        # inputs among the attributes by identity.
        vars(self).update({f"operand{i}": x for i, x in enumerate(operands)})
        self.inputs, self.output = inputs, output
        return array_module(operands[0]).einsum(",".join(inputs) + "->" + output, *operands,
                                                optimize=len(operands) > 2)

    def backward(self, grad: Any) -> Any:
        xp = array_module(grad)
        inputs = self.inputs
        operands = [getattr(self, f"operand{i}") for i in range(len(inputs))]
        grads: list[Any] = []
        for i, parent in enumerate(self.parents or ()):
            if not parent.requires_grad:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(inputs) if j != i]
            found = set(self.output).union(*others)
            kept = "".join(c for c in inputs[i] if c in found)
            spec = ",".join([self.output, *others]) + "->" + kept
            g = xp.einsum(spec, grad, *(x for j, x in enumerate(operands) if j != i),
                          optimize=len(operands) > 2)
            # A length-1 axis stretched against another operand's (ellipsis broadcasting)
            # comes back at the stretched length: sum it back.
            g = unbroadcast(g, tuple(n for c, n in zip(inputs[i], operands[i].shape)
                                     if c in found))
            if kept != inputs[i]:  # letters summed out of this operand alone
                shape = [n if c in found else 1 for c, n in zip(inputs[i], operands[i].shape)]
                g = xp.broadcast_to(g.reshape(shape), operands[i].shape)
            grads.append(g)
        return tuple(grads)


def parse_subscripts(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """``(inputs, output)`` of an einsum call: ellipses spelled out as unused letters, the
    output made explicit (NumPy's implicit rule: the letters used once, sorted).

    Raises:
        ValueError: naming the operand, when the subscripts do not match the operands, a
            letter repeats within one operand, or the output names a letter no input has.

    Example:
        >>> parse_subscripts("...ij,jk", [(2, 3, 4), (4, 5)])
        (['aij', 'jk'], 'aik')
    """
    spec = subscripts.replace(" ", "")
    left, arrow, output = spec.partition("->")
    inputs = left.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(inputs)} operands, got "
                         f"{len(shapes)}")
    used = set(spec) - {".", ",", "-", ">"}
    spare = iter(c for c in string.ascii_letters if c not in used)
    ellipsis_ndim = max((len(shape) - len(s.replace("...", "")) for s, shape
                         in zip(inputs, shapes) if "..." in s), default=0)
    broadcast = "".join(next(spare) for _ in range(ellipsis_ndim))
    spelled = []
    for i, (s, shape) in enumerate(zip(inputs, shapes)):
        if "..." in s:
            s = s.replace("...", broadcast[ellipsis_ndim - (len(shape) - len(s) + 3):])
        if not s.isalpha() and s or len(s) != len(shape):
            raise ValueError(f"einsum: operand {i} has shape {shape} but subscripts {s!r}")
        if len(set(s)) != len(s):
            raise ValueError(f"einsum: operand {i} repeats a letter in {s!r} (diagonals and "
                             "traces are not supported; take the diagonal by indexing first)")
        spelled.append(s)
    if arrow:
        output = output.replace("...", broadcast)
    else:
        letters = "".join(spelled)
        output = broadcast + "".join(sorted(c for c in set(letters) - set(broadcast)
                                            if letters.count(c) == 1))
    unknown = set(output) - set("".join(spelled))
    if unknown or len(set(output)) != len(output):
        raise ValueError(f"einsum: output {output!r} must name distinct letters of the inputs")
    return spelled, output
