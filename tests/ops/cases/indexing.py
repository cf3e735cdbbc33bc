"""Op cases for the shape and indexing ops of issue 13: pad, flip, broadcast_to/expand,
repeat, tile, take_along_axis/gather, scatter, scatter_add, tril/triu, einsum, flatten and
unflatten."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.ops.einsum import Einsum
from chainrule.ops.indexing import BroadcastTo, Pad, Scatter, ScatterAdd
from chainrule.ops.shape import Index, Reshape, Where

from . import OpCase, draws

__all__ = ["CASES"]

_u = draws(60_000)


def _i(*values):
    return np.array(values, dtype=np.int64)


def _t(torch, array):
    return torch.as_tensor(np.asarray(array))


def _scatter_ref(x, axis, index, src, add):
    out = x.copy()
    for position in np.ndindex(index.shape):
        target = list(position)
        target[axis] = index[position]
        if add:
            out[tuple(target)] += src[position]
        else:
            out[tuple(target)] = src[position]
    return out


_INDEX = _i(2, 0, 1, 0, 2, 2).reshape(2, 3)  # picks along axis 1 of a (2, 4) or (3, 4) input
_PERMUTATION = _i(3, 0, 2, 1, 0, 3).reshape(2, 3)  # distinct within each row: scatter is exact

_PAD = [
    OpCase("pad_constant", (Pad,), lambda a: a.pad(((1, 0), (2, 1)), value=0.5),
           lambda a: np.pad(a, ((1, 0), (2, 1)), constant_values=0.5), (_u(2, 3),),
           torch_fn=lambda torch, a: torch.nn.functional.pad(a, (2, 1, 1, 0), value=0.5)),
    OpCase("pad_reflect_torch_order", (Index,), lambda a: F.pad(a, (2, 1), mode="reflect"),
           lambda a: np.pad(a, ((0, 0), (0, 0), (2, 1)), mode="reflect"), (_u(2, 3, 4),),
           torch_fn=lambda torch, a: torch.nn.functional.pad(a, (2, 1), mode="reflect")),
    OpCase("pad_replicate_two_axes", (Index,),
           lambda a: F.pad(a, (1, 2, 2, 0), mode="replicate"),
           lambda a: np.pad(a, ((0, 0), (2, 0), (1, 2)), mode="edge"), (_u(2, 3, 4),),
           torch_fn=lambda torch, a: torch.nn.functional.pad(a, (1, 2, 2, 0), mode="replicate")),
    OpCase("pad_circular", (Index,), lambda a: F.pad(a, (1, 2), mode="circular"),
           lambda a: np.pad(a, ((0, 0), (0, 0), (1, 2)), mode="wrap"), (_u(1, 2, 3),),
           torch_fn=lambda torch, a: torch.nn.functional.pad(a, (1, 2), mode="circular")),
]

_MOVE = [
    OpCase("flip_axis", (Index,), lambda a: a.flip(1), lambda a: np.flip(a, 1), (_u(2, 3, 2),),
           torch_fn=lambda torch, a: a.flip(1)),
    OpCase("flip_all_function", (Index,), lambda a: cr.flip(a), np.flip, (_u(2, 3),),
           torch_fn=lambda torch, a: a.flip((0, 1))),
    OpCase("broadcast_to", (BroadcastTo,), lambda a: a.broadcast_to((2, 3, 4)),
           lambda a: np.broadcast_to(a, (2, 3, 4)), (_u(3, 1),),
           torch_fn=lambda torch, a: a.expand(2, 3, 4)),
    OpCase("expand_keep_axis", (BroadcastTo,), lambda a: a.expand(2, -1, 3),
           lambda a: np.broadcast_to(a, (2, 4, 3)), (_u(4, 1),),
           torch_fn=lambda torch, a: a.expand(2, -1, 3)),
    OpCase("tile_torch_repeat", (BroadcastTo, Reshape), lambda a: a.tile((2, 1, 3)),
           lambda a: np.tile(a, (2, 1, 3)), (_u(2, 3),),
           torch_fn=lambda torch, a: a.repeat(2, 1, 3)),
    OpCase("tile_int", (BroadcastTo,), lambda a: cr.tile(a, 2), lambda a: np.tile(a, 2),
           (_u(3),), torch_fn=lambda torch, a: a.repeat(2)),
    OpCase("repeat_axis", (BroadcastTo,), lambda a: a.repeat(2, axis=0),
           lambda a: np.repeat(a, 2, axis=0), (_u(3, 2),),
           torch_fn=lambda torch, a: a.repeat_interleave(2, dim=0)),
    OpCase("repeat_counts_flat", (Index,), lambda a: a.repeat_interleave([1, 0, 3, 2]),
           lambda a: np.repeat(a, [1, 0, 3, 2]), (_u(2, 2),),
           torch_fn=lambda torch, a: a.reshape(-1).repeat_interleave(_t(torch, [1, 0, 3, 2]))),
    OpCase("flatten_middle_axes", (Reshape,), lambda a: a.flatten(1, 2),
           lambda a: a.reshape(2, 12, 5), (_u(2, 3, 4, 5),),
           torch_fn=lambda torch, a: a.flatten(1, 2)),
    OpCase("unflatten", (Reshape,), lambda a: a.unflatten(-1, (2, -1)),
           lambda a: a.reshape(3, 2, 3), (_u(3, 6),),
           torch_fn=lambda torch, a: a.unflatten(-1, (2, -1))),
]

_GATHER = [
    OpCase("take_along_axis_repeats", (Index,), lambda a, i: a.take_along_axis(i, 1),
           lambda a, i: np.take_along_axis(a, i, 1), (_u(2, 4),), constants=(_INDEX,),
           torch_fn=lambda torch, a, i: torch.take_along_dim(a, _t(torch, i), 1)),
    OpCase("gather_smaller_index", (Index,), lambda a, i: cr.gather(a, 1, i),
           lambda a, i: np.take_along_axis(a[:2], i, 1), (_u(3, 4),), constants=(_INDEX,),
           torch_fn=lambda torch, a, i: a.gather(1, _t(torch, i))),
    OpCase("gather_axis0", (Index,), lambda a, i: a.gather(0, i),
           lambda a, i: np.take_along_axis(a, i, 0), (_u(4, 3),), constants=(_PERMUTATION,),
           torch_fn=lambda torch, a, i: a.gather(0, _t(torch, i))),
    OpCase("scatter", (Scatter,), lambda a, s, i: a.scatter(1, i, s),
           lambda a, s, i: _scatter_ref(a, 1, i, s, add=False), (_u(2, 4), _u(2, 3)),
           constants=(_PERMUTATION,),
           torch_fn=lambda torch, a, s, i: a.scatter(1, _t(torch, i), s)),
    OpCase("scatter_larger_src", (Scatter, Index), lambda a, s, i: a.scatter(1, i, s),
           lambda a, s, i: _scatter_ref(a, 1, i, s[:, :3], add=False), (_u(2, 4), _u(3, 4)),
           constants=(_PERMUTATION,)),  # PyTorch 2.13's backward fails on a larger src
    OpCase("scatter_add_repeats", (ScatterAdd,), lambda a, s, i: a.scatter_add(1, i, s),
           lambda a, s, i: _scatter_ref(a, 1, i, s, add=True), (_u(2, 4), _u(2, 3)),
           constants=(_INDEX,),
           torch_fn=lambda torch, a, s, i: a.scatter_add(1, _t(torch, i), s)),
    OpCase("scatter_add_function_axis0", (ScatterAdd,),
           lambda a, s, i: cr.scatter_add(a, 0, i, s),
           lambda a, s, i: _scatter_ref(a, 0, i, s, add=True), (_u(4, 3), _u(2, 3)),
           constants=(_PERMUTATION,),
           torch_fn=lambda torch, a, s, i: a.scatter_add(0, _t(torch, i), s)),
    OpCase("tril", (Where,), lambda a: a.tril(), np.tril, (_u(3, 4),),
           torch_fn=lambda torch, a: a.tril()),
    OpCase("triu_batched_offset", (Where,), lambda a: cr.triu(a, 1),
           lambda a: np.triu(a, 1), (_u(2, 3, 3),), torch_fn=lambda torch, a: a.triu(1)),
]

_EINSUM = [
    OpCase("einsum_matmul", (Einsum,), lambda a, b: cr.einsum("ij,jk->ik", a, b),
           lambda a, b: a @ b, (_u(2, 3), _u(3, 4)),
           torch_fn=lambda torch, a, b: torch.einsum("ij,jk->ik", a, b)),
    OpCase("einsum_batched_implicit", (Einsum,), lambda a, b: cr.einsum("bij,bkj", a, b),
           lambda a, b: np.einsum("bij,bkj", a, b), (_u(2, 3, 4), _u(2, 5, 4)),
           torch_fn=lambda torch, a, b: torch.einsum("bij,bkj", a, b)),
    OpCase("einsum_ellipsis_broadcast", (Einsum,), lambda a, b: cr.einsum("...ij,j->...i", a, b),
           lambda a, b: a @ b, (_u(2, 3, 4), _u(4)),
           torch_fn=lambda torch, a, b: torch.einsum("...ij,j->...i", a, b)),
    OpCase("einsum_ellipsis_length1_broadcast", (Einsum,),
           lambda a, b: cr.einsum("...ij,...jk->...ik", a, b), lambda a, b: a @ b,
           (_u(2, 3, 4), _u(1, 4, 5)),
           torch_fn=lambda torch, a, b: torch.einsum("...ij,...jk->...ik", a, b)),
    OpCase("einsum_sum_out_one_operand", (Einsum,), lambda a, b: cr.einsum("ij,k->k", a, b),
           lambda a, b: a.sum() * b, (_u(2, 3), _u(4)),
           torch_fn=lambda torch, a, b: torch.einsum("ij,k->k", a, b)),
    OpCase("einsum_three_operands_scalar", (Einsum,),
           lambda a, b, c: cr.einsum("i,ij,j->", a, b, c),
           lambda a, b, c: a @ b @ c, (_u(3), _u(3, 4), _u(4)),
           torch_fn=lambda torch, a, b, c: torch.einsum("i,ij,j->", a, b, c)),
    OpCase("einsum_transpose_outer", (Einsum,), lambda a, b: cr.einsum("ij,k->kji", a, b),
           lambda a, b: np.einsum("ij,k->kji", a, b), (_u(2, 3), _u(2)),
           torch_fn=lambda torch, a, b: torch.einsum("ij,k->kji", a, b)),
]

CASES = [*_PAD, *_MOVE, *_GATHER, *_EINSUM]
