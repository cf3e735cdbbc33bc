"""How many threads NumPy's BLAS (OpenBLAS, MKL, BLIS) runs its matrix products on.

What it does: ``set_num_threads(n)`` limits every BLAS library loaded in the process to ``n``
threads, ``get_num_threads()`` says how many the BLAS runs now; both through ``threadpoolctl``,
which finds the libraries NumPy loaded and calls their own setters. PyTorch's threads
(``torch.set_num_threads``) are its own and stay as they are.

Why it matters: OpenBLAS starts one thread per core and keeps them spinning between products.
On the matrices of small models (a batch of 32 through 784x256) splitting a product saves
microseconds while waking and synchronising the threads costs more, and on a machine where
another process keeps a core busy a spinning thread waits for a time slice at every product.
Measured on a 2-core machine, ``chainrule train`` (an MLP on the embedded digits, 40 epochs)
took 1.1 s with 1 BLAS thread and 8-12 s with 2, and with another process spinning on one
core 2.0-4.8 s with 1 thread and 26-36 s with 2. So the ``chainrule`` command runs on one BLAS
thread unless told ``--threads N``; a library call leaves NumPy's default (one per core) unless
``set_num_threads`` changes it, because large products (wide CNNs, big batches) do gain from more
threads on an idle machine.
"""

from __future__ import annotations

import operator

__all__ = ["get_num_threads", "set_num_threads"]


def _controller():
    # Imported on first use: scanning the loaded libraries costs milliseconds, and a library
    # loaded later (another BLAS) is found by the next call.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def set_num_threads(n: int) -> None:
    """Run NumPy's BLAS (every BLAS library in the process) on ``n`` threads from now on.

    One thread is fastest for small models and on shared machines (see
    ``chainrule.backend.threads``); more help large matrix products on idle cores.

    Args:
        n: threads, at least 1.

    Raises:
        TypeError: ``n`` is not an integer.
        ValueError: ``n`` is less than 1.

    Example:
        >>> import chainrule as cr
        >>> before = cr.get_num_threads()
        >>> cr.set_num_threads(1)
        >>> cr.get_num_threads()
        1
        >>> cr.set_num_threads(before)
    """
    if isinstance(n, bool):
        raise TypeError(f"set_num_threads: n must be an integer, got {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads: n must be an integer, got {type(n).__name__} "
                        f"{n!r}") from None
    if n < 1:
        raise ValueError(f"set_num_threads: n must be at least 1, got {n}")
    _controller().limit(limits=n)


def get_num_threads() -> int:
    """The threads NumPy's BLAS runs on now (the largest count when several BLAS libraries are
    loaded; 1 when none is found).

    Example:
        >>> import chainrule as cr
        >>> cr.get_num_threads() >= 1
        True
    """
    return max((pool.num_threads for pool in _controller().lib_controllers), default=1)
