"""CUDA devices through CuPy: whether one is usable, how many, and seeding their random streams.

CuPy is optional (``pip install chainrule[cuda]``); without it, or without a GPU, these answer
"none" and never raise.

Example:
    >>> import chainrule as cr
    >>> isinstance(cr.cuda.is_available(), bool)
    True
"""

from __future__ import annotations

from .backend import devices

__all__ = ["is_available", "device_count", "manual_seed", "synchronize"]


def device_count() -> int:
    """How many CUDA devices CuPy sees (0 without CuPy, a driver or a GPU)."""
    return devices.cuda_device_count()


def is_available() -> bool:
    """Whether tensors can be put on ``"cuda"``: CuPy is installed and sees a GPU."""
    return device_count() > 0


def manual_seed(seed: int) -> None:
    """Reseed the random streams drawn on CUDA devices (dropout masks); ``cr.manual_seed``
    reseeds them too, with the host's."""
    devices.manual_seed(seed, "cuda")


def synchronize() -> None:
    """Wait until the current CUDA device has finished its queued work (kernels run
    asynchronously: time a GPU step only after this). Does nothing without CuPy or a GPU."""
    if is_available():
        devices.synchronize_cuda()
