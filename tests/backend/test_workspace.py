"""The workspace lends a block again only once no array uses it: not the loan, not a view, a
reshape or strided windows of it, not a reference cycle that holds it; and it stays within its
budget."""

import gc

import numpy as np
import pytest

from chainrule.backend import sliding_window_view
from chainrule.backend.workspace import Workspace


def test_reuses_memory_only_once_it_is_free():
    workspace = Workspace()
    first = workspace.empty((300, 300), np.float32)
    address = first.ctypes.data
    second = workspace.empty((300, 300), np.float32)
    assert second.ctypes.data != address  # first is alive: it keeps its block
    view = first[::2]
    del first
    third = workspace.empty((300, 300), np.float32)
    assert third.ctypes.data != address  # a view of first keeps the block too
    del view
    fourth = workspace.empty((150, 300), np.float64)  # the same bytes in another dtype
    assert fourth.ctypes.data == address and fourth.dtype == np.float64
    assert workspace.empty((10,), np.float32).base is None  # small arrays are not pooled


@pytest.mark.parametrize("derive", [
    lambda loan: loan.reshape(512, 256)[1:].T[::2],
    lambda loan: sliding_window_view(loan, (3, 3)),
    lambda loan: loan.view(np.int32)[::3],
], ids=["view_of_a_view", "strided_windows", "dtype_view"])
def test_arrays_derived_from_a_loan_keep_its_block(derive):
    # NumPy points a view of a view at the array that owns the memory: whatever is derived
    # from a loan must still keep the loan, and so its block, in use.
    workspace = Workspace()
    loan = workspace.empty((256, 512), np.float32)
    address = loan.ctypes.data
    derived = derive(loan)
    del loan
    assert workspace.empty((256, 512), np.float32).ctypes.data != address
    del derived
    assert workspace.empty((256, 512), np.float32).ctypes.data == address


def test_a_block_held_by_a_reference_cycle_is_free_once_collected():
    workspace = Workspace()
    gc.disable()
    try:
        cycle: list = [workspace.empty((300, 300), np.float32)]
        address = cycle[0].ctypes.data
        cycle.append(cycle)
        del cycle
        # Without the collector the cycle is unreachable but alive: not yet free.
        assert workspace.empty((300, 300), np.float32).ctypes.data != address
        gc.collect()
        assert workspace.empty((300, 300), np.float32).ctypes.data == address
    finally:
        gc.enable()


def test_stays_within_its_budget(monkeypatch):
    workspace = Workspace()
    monkeypatch.setattr(workspace, "max_bytes", 5 << 19)  # 2.5 MiB
    kept = [workspace.empty((1 << 18,), np.float32) for _ in range(2)]  # 2 MiB in use
    extra = workspace.empty((1 << 18,), np.float32)  # no room: allocated outside the pool
    assert extra.base is None and len(workspace._blocks) == 2
    del kept
    reused = workspace.empty((1 << 18,), np.float32)
    assert len(workspace._blocks) == 2 and reused.base is not None
    bigger = workspace.empty((3 << 17,), np.float32)  # 1.5 MiB: the free 1 MiB block goes
    assert bigger.base is not None and len(workspace._blocks) == 2


def test_evicts_a_free_block_behind_one_in_use(monkeypatch):
    # Eviction once went through list.remove, which compares arrays with == and raised
    # ValueError whenever the free block was not the first one in the pool.
    workspace = Workspace()
    monkeypatch.setattr(workspace, "max_bytes", 5 << 19)  # 2.5 MiB
    in_use = workspace.empty((1 << 18,), np.float32)  # 1 MiB, first in the pool
    workspace.empty((1 << 18,), np.float32)  # 1 MiB, freed at once: second in the pool
    bigger = workspace.empty((3 << 17,), np.float32)  # 1.5 MiB: only the free block can go
    assert bigger.base is not None and len(workspace._blocks) == 2
    assert any(np.shares_memory(block.memory, in_use) for block in workspace._blocks)
