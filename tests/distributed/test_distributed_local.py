"""chainrule.distributed in one process (no MPI needed): the identities, the sharding arithmetic,
the engine hook the buckets use, SyncBatchNorm as BatchNorm, the metric merge, the launcher's
command line."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributed as dist
from chainrule.distributed import world
from chainrule.distributed.buckets import _assign
from chainrule.distributed.command import mpirun_command
from chainrule.distributed.fitting import FitContext, fit_context
from chainrule.distributed.sharding import Shard, share_scale
from chainrule.train.metrics import mean_absolute_error, r2_score
from chainrule.train.tally import Tally


@pytest.fixture(autouse=True)
def _single_process(monkeypatch):
    for name in world._LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_one_process_is_rank_0_of_1_without_mpi():
    assert (dist.rank(), dist.world_size(), dist.is_main()) == (0, 1, True)
    assert not dist.is_initialized()
    dist.barrier()
    values = np.array([1.0, 2.0])
    assert np.array_equal(dist.allreduce(values), values)
    assert dist.allreduce(3, op="sum") == 3
    assert dist.broadcast({"a": 1}) == {"a": 1}
    assert isinstance(fit_context(), FitContext) and fit_context().shard is False


def test_bad_arguments_are_named():
    with pytest.raises(dist.DistributedError, match="op must be one of"):
        dist.allreduce(np.ones(2), op="avg")
    with pytest.raises(dist.DistributedError, match="timeout must be > 0"):
        dist.init(timeout=0)


def test_missing_mpi4py_is_a_clean_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(dist.DistributedError, match=r"pip install 'chainrule\[mpi\]'"):
        world._import_mpi()


@pytest.mark.parametrize("n", [4, 5, 10, 23])
@pytest.mark.parametrize("ranks", [1, 2, 3, 4])
def test_parts_cover_a_batch_once_and_differ_by_at_most_one(n, ranks):
    order = np.random.default_rng(n).permutation(100)[:n]
    parts = [Shard(r, ranks).part(order) for r in range(ranks)]
    assert np.array_equal(np.concatenate(parts), order)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    assert [Shard(r, ranks).part(slice(7, 7 + n)) for r in range(ranks)] == [
        slice(7 + Shard(r, ranks).bounds(n)[0], 7 + Shard(r, ranks).bounds(n)[1])
        for r in range(ranks)]


def test_a_batch_smaller_than_the_ranks_is_skipped_and_not_counted():
    shard = Shard(0, 4)
    assert shard.part(np.arange(3)) is None
    assert shard.batches(n=43, batch_size=10, drop_last=False) == 4  # the last 3 are skipped
    assert Shard(0, 2).batches(n=43, batch_size=10, drop_last=False) == 5
    assert Shard(0, 2).batches(n=43, batch_size=10, drop_last=True) == 4


def test_share_scale_weights_a_part_by_its_samples():
    Shard(0, 4).part(np.arange(8))
    assert share_scale(4) == 1.0
    Shard(0, 4).part(np.arange(6))  # parts 2, 2, 1, 1: rank 0 holds 2 of 6
    assert share_scale(4) == pytest.approx(2 * 4 / 6)
    Shard(3, 4).part(np.arange(6))
    assert share_scale(4) == pytest.approx(1 * 4 / 6)
    assert share_scale(2) == 1.0  # recorded for another world size: equal weights


def test_sharded_loader_in_one_process_reads_everything():
    x = np.arange(23, dtype=np.float32)
    plain = cr.DataLoader((x,), batch_size=5, shuffle=True, seed=1)
    sharded = cr.DataLoader((x,), batch_size=5, shuffle=True, seed=1, shard=True)
    assert len(plain) == len(sharded) == 5
    for _ in range(2):
        assert [b.data.tolist() for (b,) in plain] == [b.data.tolist() for (b,) in sharded]
    with pytest.raises(TypeError, match="shard must be True or False"):
        cr.DataLoader((x,), shard="all")


def test_post_accumulate_hook_fires_once_with_the_whole_gradient():
    shared = cr.nn.Parameter(np.array([1.0, 2.0]))
    unused = cr.nn.Parameter(np.array([3.0]))
    seen = []
    handle = shared.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.copy()))
    unused.register_post_accumulate_grad_hook(lambda p: seen.append("unused"))
    ((shared * 3.0).sum() + (shared * shared).sum()).backward()  # two paths into the leaf
    assert len(seen) == 1 and np.allclose(seen[0], 3 + 2 * shared.data)
    shared.grad = None
    handle.remove()
    (shared * 2.0).sum().backward()
    assert len(seen) == 1


def test_buckets_follow_backward_order_dtype_and_layout():
    weight = cr.nn.Parameter(np.asfortranarray(np.ones((3, 4))))
    params = [cr.nn.Parameter(np.ones(5)), weight, cr.nn.Parameter(np.ones(2, np.float32)),
              cr.nn.Parameter(np.ones(6))]
    buckets = _assign(params[::-1], bucket_size=40)
    assert [[p.shape for p in b.params] for b in buckets] == [[(6,)], [(2,)], [(3, 4)], [(5,)]]
    view = buckets[2].views[0]
    assert view.flags.f_contiguous and np.shares_memory(view, buckets[2].buffer)
    weight.grad = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    buckets[2].pack(2.0)
    assert np.array_equal(buckets[2].views[0], 2 * weight.grad)
    assert buckets[2].flags.tolist() == [1.0]
    buckets[2].unpack()
    assert weight.grad is buckets[2].views[0] and weight.grad[1, 2] == 2 * 6


def test_distributed_optimizer_is_the_optimizer_in_one_process():
    model = cr.nn.Linear(3, 2)
    adam = cr.optim.Adam(model.parameters(), lr=0.1)
    optimizer = dist.DistributedOptimizer(adam)
    assert isinstance(optimizer, cr.optim.Adam) and type(optimizer).__name__ == "DistributedAdam"
    assert optimizer.state is adam.state and optimizer.buckets is None
    loss = optimizer.step(lambda: model(cr.tensor(np.ones((4, 3), np.float32))).sum())
    loss.backward()
    optimizer.step()
    assert len(adam.state) == 2
    with pytest.raises(TypeError, match="already distributed"):
        dist.DistributedOptimizer(optimizer)
    with pytest.raises(TypeError, match="expected a chainrule optimizer"):
        dist.DistributedOptimizer(object())


def test_sync_batch_norm_is_batch_norm_in_one_process(tmp_path):
    x = cr.tensor(np.random.default_rng(0).normal(size=(4, 3, 2, 2)), requires_grad=True)
    plain = cr.nn.Sequential(cr.nn.Conv2d(3, 3, 1), cr.nn.BatchNorm2d(3)).astype(np.float64)
    weight = plain[1].weight
    synced = dist.convert_sync_batchnorm(plain)
    assert type(synced[1]).__name__ == "SyncBatchNorm" and synced[1].weight is weight
    assert list(synced.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias",
                                         "1.running_mean", "1.running_var",
                                         "1.num_batches_tracked"]
    reference = cr.nn.BatchNorm2d(3).astype(np.float64)
    expected, got = reference(x), synced[1](x)
    assert np.array_equal(expected.data, got.data)
    assert np.array_equal(reference.running_mean, synced[1].running_mean)
    cr.save(synced, tmp_path / "model.safetensors")
    loaded = cr.load_model(tmp_path / "model.safetensors").eval()
    assert np.allclose(loaded(x).data, synced.eval()(x).data)


def test_merged_tallies_equal_the_metrics_on_all_samples():
    # What fit under MPI does with the ranks' tallies: their states merged in rank order.
    rng = np.random.default_rng(0)
    t, p = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    losses = rng.uniform(size=30)
    metrics = {"mean_absolute_error": mean_absolute_error, "r2_score": r2_score}
    cuts = [(0, 7), (7, 8), (8, 8), (8, 30)]  # unequal parts, one empty
    states = []
    for a, b in cuts:
        part = Tally(metrics)
        if b > a:
            part.update(float(losses[a:b].mean()), t[a:b], p[a:b])
        states.append(part.state())
    merged = Tally(metrics)
    for state in states:
        merged.merge(state)
    results = merged.results()
    assert results["loss"] == pytest.approx(losses.mean(), abs=1e-15)
    assert results["mean_absolute_error"] == pytest.approx(mean_absolute_error(t, p), abs=1e-15)
    assert results["r2_score"] == pytest.approx(r2_score(t, p), abs=1e-12)


def test_launch_builds_the_mpirun_line():
    assert mpirun_command(2, ["python", "x.py"], cores=2, root=False) == [
        "mpirun", "-n", "2", "--bind-to", "none", "python", "x.py"]
    assert mpirun_command(4, ["x"], cores=2, root=True) == [
        "mpirun", "-n", "4", "--bind-to", "none", "--oversubscribe", "--mca",
        "mpi_yield_when_idle", "1", "--allow-run-as-root", "x"]
    assert mpirun_command(8, ["x"], hostfile="hosts", cores=2, root=False)[4:7] == [
        "none", "--hostfile", "hosts"]


def test_launch_command_line(capsys):
    import shutil

    from chainrule.cli import main

    if shutil.which("mpirun") is None:  # even a dry run names the launcher it would run
        pytest.skip("mpirun is not installed (pip install 'chainrule[mpi]' brings Open MPI)")

    assert main(["launch", "-n", "3", "--dry-run", "--", "chainrule", "train"]) == 0
    line = capsys.readouterr().out
    assert "-n 3" in line and line.rstrip().endswith("chainrule train")
    assert main(["launch", "-n", "2"]) == 2
    assert "give the command to run after --" in capsys.readouterr().err


@pytest.mark.parametrize("variables, expected", [
    ({}, False), ({"OMPI_COMM_WORLD_SIZE": "1"}, False), ({"OMPI_COMM_WORLD_SIZE": "4"}, True),
    ({"PMI_SIZE": "2"}, True), ({"SLURM_STEP_NUM_TASKS": "8"}, True),
])
def test_a_launcher_is_recognised_by_its_process_count(monkeypatch, variables, expected):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert world.launched() is expected


class _LoopbackWorld:
    """A stand-in for a 2-rank world whose allreduce returns this rank's data (the other rank
    contributes nothing), recording the order of the collectives."""

    size = 2

    def __init__(self):
        self.calls = []
        world = self

        class Comm:
            def Iallreduce(self, _, buffer, op):
                world.calls.append(("Iallreduce", buffer.size))
                return "request"

            def Allreduce(self, _, buffer, op):
                world.calls.append(("Allreduce", buffer.size))

        class MPI:
            IN_PLACE = SUM = None

            class Request:
                Testall = Waitall = staticmethod(lambda requests: None)

        self.comm, self.MPI = Comm(), MPI

    def communicator(self, purpose):
        return self.comm

    def watch(self, what):
        import contextlib

        return contextlib.nullcontext()


@pytest.mark.parametrize("overlap", [True, False])
def test_buckets_start_during_backward_in_order_and_average(overlap):
    from chainrule.distributed.buckets import GradientBuckets

    model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3)).astype(
        np.float64)
    world = _LoopbackWorld()
    buckets = GradientBuckets(list(model.parameters()), world, bucket_size=64, overlap=overlap)
    x = cr.tensor(np.random.default_rng(0).normal(size=(5, 4)))
    model(x).sum().backward()
    expected = [p.grad.copy() for p in model.parameters()]
    sizes = [b.buffer.size for b in buckets.buckets]
    assert sizes == [3 + 24 + 2, 8 + 1, 32 + 1]  # gradients and flags, backward's order
    assert world.calls == ([("Iallreduce", n) for n in sizes] if overlap else [])
    buckets.synchronize()
    if not overlap:
        assert world.calls == [("Allreduce", n) for n in sizes]
    for param, grad in zip(model.parameters(), expected):
        assert np.array_equal(param.grad, grad / 2)  # this rank's half of the sum
    if overlap:
        model(x).sum().backward()  # no step() in between: a gradient after its bucket left
        with pytest.raises(RuntimeError, match="call step\\(\\) after every backward"):
            model(x).sum().backward()
    buckets.remove()
