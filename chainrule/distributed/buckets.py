"""Gradient buckets: the parameters' gradients packed into a few flat buffers, each averaged over
the ranks with one non-blocking allreduce that starts as soon as its gradients are final.

Horovod's tensor fusion and PyTorch DDP's reducer do the same: one allreduce per parameter would
pay the network's latency dozens of times per step, one allreduce of everything could only start
after backward has finished. Parameters are assigned to buckets in reverse registration order —
roughly the order backward finishes them — until a bucket holds ``bucket_size`` bytes; a
bucket's allreduce is launched from the engine's post-accumulate hook of its last parameter, so
it travels while backward computes the gradients of earlier layers.

Buckets are launched strictly in bucket order, so every rank issues the same sequence of
collectives whatever the timing. Each buffer ends with one presence flag per parameter (1 where
this rank had a gradient), so a parameter that no rank used keeps ``.grad = None`` as it would in
one process. Each gradient is multiplied by ``s_r / K`` as it is copied in (K ranks, ``s_r``
its rank's share scale ``n_r K / n``, exactly 1 for equal parts of the batch, see
``sharding``), so the MPI sum is the sample-weighted average with no pass over the result. For
equal parts and K a power of two that factor is a power of two, an exact scaling: the result is
bitwise the sum divided by K.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..tensor import Tensor
from .sharding import share_scale

__all__ = ["GradientBuckets"]


class _Bucket:
    """One flat buffer: the gradients of ``params`` in memory order, then their flags."""

    __slots__ = ("buffer", "flags", "params", "request", "views", "waiting")

    def __init__(self, params: list[Tensor]):
        self.params = params
        sizes = [p.data.size for p in params]
        self.buffer = np.empty(sum(sizes) + len(params), dtype=params[0].data.dtype)
        offsets = np.cumsum([0, *sizes])
        self.views = [_view_like(self.buffer[start:stop], p.data)
                      for p, start, stop in zip(params, offsets[:-1], offsets[1:])]
        self.flags = self.buffer[offsets[-1]:]
        self.request = None
        self.waiting = len(params)

    def pack(self, scale: float) -> None:
        """Copy the current gradients in, times ``scale`` (zeros and flag 0 where a parameter
        has none)."""
        for i, (param, view) in enumerate(zip(self.params, self.views)):
            if param.grad is None:
                view.fill(0)
                self.flags[i] = 0
            else:
                np.multiply(param.grad, scale, out=view)
                self.flags[i] = 1

    def unpack(self) -> None:
        """Make the averages the gradients (views of the buffer)."""
        for param, view, flag in zip(self.params, self.views, self.flags):
            param.grad = view if flag else None


def _view_like(flat: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``flat`` shaped as ``like`` in ``like``'s memory order (column-major weights stay so)."""
    if like.flags.f_contiguous and not like.flags.c_contiguous:
        return flat.reshape(like.shape[::-1]).T
    return flat.reshape(like.shape)


class GradientBuckets:
    """Average the gradients of ``params`` over all ranks, overlapped with backward.

    Call ``synchronize()`` after ``backward()`` and before the optimizer's update: it launches
    whatever backward did not (all of it when ``overlap`` is off), waits, and replaces each
    ``.grad`` with the average over ranks (a view into the bucket). ``DistributedOptimizer``
    does this in ``step()``.

    Args:
        params: the parameters (each at most once), in registration order.
        world: the initialised MPI world (``chainrule.distributed.world.current()``).
        bucket_size: bytes of gradient per bucket (a larger parameter gets a bucket of its own).
        overlap: start each bucket's (non-blocking) allreduce during backward; off, each
            bucket is reduced by a blocking allreduce in ``synchronize``. Every rank must
            pass the same value.

    **Shape**: any parameter shapes; one buffer per run of parameters of one dtype.
    """

    def __init__(self, params: Sequence[Tensor], world, bucket_size: int = 2**20,
                 overlap: bool = True):
        if isinstance(bucket_size, bool) or not isinstance(bucket_size, int) or bucket_size < 1:
            raise ValueError(f"bucket_size must be a positive number of bytes, got "
                             f"{bucket_size!r}")
        self.world, self.overlap = world, bool(overlap)
        self.comm = world.communicator("gradients")
        trainable = [p for p in params if p.requires_grad]
        self.buckets = _assign(trainable[::-1], bucket_size)
        self._bucket_of = {id(p): b for b, bucket in enumerate(self.buckets) for p in bucket.params}
        self._ready: set[int] = set()
        self._launched = 0  # buckets 0 … _launched-1 are on their way
        self._handles = ([p.register_post_accumulate_grad_hook(self._on_gradient)
                          for p in trainable] if self.overlap else [])

    def _on_gradient(self, param: Tensor) -> None:
        key = id(param)
        index = self._bucket_of[key]
        if index < self._launched:
            raise RuntimeError(
                "DistributedOptimizer: a parameter received a gradient after its bucket was sent "
                "(a second backward() before step()); call step() after every backward"
            )
        if key in self._ready:
            return
        self._ready.add(key)
        bucket = self.buckets[index]
        bucket.waiting -= 1
        if bucket.waiting == 0 and index == self._launched:
            # Every bucket whose gradients are final, in order, up to the first that is not.
            while self._launched < len(self.buckets) and \
                    self.buckets[self._launched].waiting == 0:
                self._launch(self.buckets[self._launched])
        elif self._launched:
            # A nudge: Open MPI advances non-blocking collectives only inside MPI calls.
            self.world.MPI.Request.Testall([b.request for b in self.buckets[:self._launched]])

    def _launch(self, bucket: _Bucket) -> None:
        bucket.pack(self._scale())
        bucket.request = self.comm.Iallreduce(self.world.MPI.IN_PLACE, bucket.buffer,
                                              op=self.world.MPI.SUM)
        self._launched += 1

    def synchronize(self) -> None:
        """Finish averaging this step's gradients over the ranks (see the class docstring)."""
        with self.world.watch("the allreduce of the gradients"):
            if self.overlap:
                while self._launched < len(self.buckets):
                    self._launch(self.buckets[self._launched])
                self.world.MPI.Request.Waitall([b.request for b in self.buckets])
            else:  # blocking: Open MPI's tuned Allreduce beats its non-blocking one
                scale = self._scale()
                for bucket in self.buckets:
                    bucket.pack(scale)
                    self.comm.Allreduce(self.world.MPI.IN_PLACE, bucket.buffer,
                                        op=self.world.MPI.SUM)
        for bucket in self.buckets:
            bucket.unpack()
            bucket.request = None
            bucket.waiting = len(bucket.params)
        self._ready.clear()
        self._launched = 0

    def _scale(self) -> float:
        """``s_r / K``: this rank's weight in the sum (see the module)."""
        return share_scale(self.world.size) / self.world.size

    def remove(self) -> None:
        """Detach from the parameters' gradient hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _assign(params: list[Tensor], bucket_size: int) -> list[_Bucket]:
    """Consecutive parameters of one dtype share a bucket until it holds ``bucket_size`` bytes."""
    buckets: list[_Bucket] = []
    run: list[Tensor] = []
    filled = 0
    for param in params:
        if run and (param.data.dtype != run[0].data.dtype or filled >= bucket_size):
            buckets.append(_Bucket(run))
            run, filled = [], 0
        run.append(param)
        filled += param.data.nbytes
    if run:
        buckets.append(_Bucket(run))
    return buckets

