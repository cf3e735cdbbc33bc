"""Data-parallel training over MPI: where a step's time goes, what overlap buys, how close the
gradient buckets come to MPI's own allreduce, and what that predicts for 8-64 machines.

    python benchmarks/distributed.py            # one machine, and namespaced hosts when root
    python benchmarks/distributed.py --quick    # fewer steps, no namespaces

For the MLP and the CNN of ``chainrule.models`` (MNIST-sized inputs, 64 samples per rank per
step: weak scaling, the global batch grows with the ranks), each configuration is one
``mpirun`` job that alternates blocks of steps with overlap on and off, and blocks of the
gradient allreduce through the buckets with blocks of ``mpi4py``'s ``Allreduce`` of the same
bytes in one buffer. Reported per step: compute (forward, backward, update), the communication
left waiting after backward, and the step. Configurations: 1 process; 2 and 4 ranks on this
machine; 2 and 4 ranks on namespaced hosts (veth links) limited by ``tc`` to 10 and 1 Gbit/s.
Each rank uses one BLAS thread. Times are the fastest of the repetitions (on a machine shared
with other work, the least disturbed one).

Bus bandwidth is NCCL's: ``2 (K-1)/K · bytes / time``, the rate each link must sustain in a ring
allreduce. The scaling model for K machines, from the measured compute time ``C`` (of which the
backward pass ``B`` can hide communication) and the allreduce cost of ``S`` bytes in ``b``
buckets over links of bandwidth ``W`` with per-message latency ``α``::

    T_comm(K) = 2 (K-1)/K · S / W + 2 (K-1) · b · α        (ring allreduce)
    efficiency: without overlap C / (C + T_comm); with perfect overlap C / max(C, C - B + T_comm)

A machine with 2 cores cannot show a speed-up beyond 2 ranks (4 ranks share 2 cores, so each
gets half a core); the efficiencies at 2 ranks are measured, beyond that they are predicted.
Other processes on the machine make the timings noisy: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "distributed"))

MODELS = ("mlp", "cnn")
BATCH = 64
RATES = ("10gbit", "1gbit")


# ------------------------------------------------------------------------ one rank's measurement
def _step_times(model, optimizer, x, y, steps: int) -> list[tuple[float, ...]]:
    """(forward, backward, waiting for the allreduce, update) per step, in seconds."""
    import chainrule as cr
    from chainrule.distributed import DistributedOptimizer

    update = super(DistributedOptimizer, optimizer).step if isinstance(
        optimizer, DistributedOptimizer) else optimizer.step
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = cr.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        forward_done = time.perf_counter()
        loss.backward()
        backward_done = time.perf_counter()
        if isinstance(optimizer, DistributedOptimizer):
            optimizer.synchronize()
        synchronized = time.perf_counter()
        update()
        times.append((forward_done - start, backward_done - forward_done,
                      synchronized - backward_done, time.perf_counter() - synchronized))
    return times


def _allreduce_times(base, world, steps: int) -> dict:
    """Seconds per gradient allreduce through the buckets (non-blocking, as with overlap, and
    blocking, as without) and through one raw ``Allreduce`` of the same bytes in one buffer,
    alternating; and the byte count."""
    from chainrule.distributed import DistributedOptimizer

    optimizers = {"nonblocking": DistributedOptimizer(base),
                  "blocking": DistributedOptimizer(base, overlap=False)}
    buckets = optimizers["blocking"].buckets.buckets
    flat = np.ones(sum(b.buffer.size for b in buckets), dtype=buckets[0].buffer.dtype)
    params = [p for b in buckets for p in b.params]
    times: dict = {"nonblocking": [], "blocking": [], "raw": []}
    for _ in range(steps):
        for name, optimizer in optimizers.items():
            for param in params:
                param.grad = np.ones_like(param.data)
            world.comm.Barrier()
            start = time.perf_counter()
            optimizer.synchronize()
            times[name].append(time.perf_counter() - start)
        world.comm.Barrier()
        start = time.perf_counter()
        world.comm.Allreduce(world.MPI.IN_PLACE, flat)
        times["raw"].append(time.perf_counter() - start)
    optimizers["nonblocking"].buckets.remove()
    return {**times, "bytes": flat.nbytes, "buckets": len(buckets)}


def rank_job(steps: int, out: Path) -> None:
    """Run under mpirun (or alone for 1 process): measure both models, write JSON on rank 0."""
    import chainrule as cr
    from chainrule import distributed as dist
    from chainrule.distributed.world import current

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    world = current()
    results = {"ranks": dist.world_size()}
    for name in MODELS:
        cr.manual_seed(0)
        model = cr.models.build(name, (1, 28, 28), 10)
        rng = np.random.default_rng(dist.rank())
        x = cr.tensor(rng.normal(size=(BATCH, 1, 28, 28)).astype(np.float32))
        y = cr.tensor(rng.integers(0, 10, BATCH))
        base = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        record = {"parameters": model.num_parameters(), "overlap": [], "no_overlap": []}
        if world is None:
            _step_times(model, base, x, y, 3)
            record["overlap"] = _step_times(model, base, x, y, steps)
        else:
            for block in range(6):  # alternate, so drifting load hits both alike
                overlap = block % 2 == 0
                optimizer = dist.DistributedOptimizer(base, overlap=overlap)
                _step_times(model, optimizer, x, y, 2)
                record["overlap" if overlap else "no_overlap"] += _step_times(
                    model, optimizer, x, y, max(steps // 3, 2))
                optimizer.buckets.remove()
            record.update(_allreduce_times(base, world, steps))
        results[name] = record
    small = np.zeros(1)
    if world is not None:  # the latency term: a one-number allreduce
        times = []
        for _ in range(200):
            start = time.perf_counter()
            world.comm.Allreduce(world.MPI.IN_PLACE, small)
            times.append(time.perf_counter() - start)
        results["latency"] = min(times)
    if dist.is_main():
        out.write_text(json.dumps(results))


# ------------------------------------------------------------------------ the driver
def _run(line: list[str], timeout: float = 600) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(line, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{' '.join(line)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def measure(ranks: int, steps: int, place: str) -> dict:
    from chainrule.distributed.command import mpirun_command

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        job = [sys.executable, str(Path(__file__).resolve()), "--rank-job", str(out),
               "--steps", str(steps)]
        if ranks == 1:
            _run(job)
        elif place == "local":
            _run(mpirun_command(ranks, job, mpirun=str(Path(sys.executable).parent / "mpirun")))
        else:
            import netns

            with netns.SimulatedHosts(ranks, rate=place) as hosts:
                _run(hosts.mpirun(ranks, job))
        return json.loads(out.read_text())


def _best_ms(values) -> float:
    """The fastest repetition, in ms: on a shared machine the one least disturbed."""
    return 1e3 * min(values)


def report(results: list[tuple[str, dict]]) -> None:
    print("\nThe fastest step of each configuration, ms: compute = forward + backward + update, "
          "wait = the allreduce left after backward")
    print(f"{'where':>8} {'K':>2} {'model':>5} {'overlap':>8} {'compute':>8} {'wait':>7} "
          f"{'step':>7} {'weak-scaling eff.':>18}")
    single = {m: _best_ms([sum(t) for t in results[0][1][m]["overlap"]]) for m in MODELS}
    for place, result in results:
        for model in MODELS:
            for mode in ("overlap", "no_overlap"):
                times = result[model][mode]
                if not times:
                    continue
                fastest = min(times, key=sum)  # its parts, so that they add up
                compute = 1e3 * (fastest[0] + fastest[1] + fastest[3])
                wait, step = 1e3 * fastest[2], 1e3 * sum(fastest)
                print(f"{place:>8} {result['ranks']:>2} {model:>5} "
                      f"{'on' if mode == 'overlap' else 'off':>8} {compute:8.2f} {wait:7.2f} "
                      f"{step:7.2f} {single[model] / step:17.0%}")
    print("\nGradient allreduce: the buckets (non-blocking / blocking) vs one mpi4py Allreduce "
          "of the same bytes; bus bandwidth GB/s")
    print(f"{'where':>8} {'K':>2} {'model':>5} {'MB':>6} {'buckets':>7} {'nonblk ms':>9} "
          f"{'blk ms':>7} {'raw ms':>7} {'nonblk':>7} {'blk':>6} {'raw':>6} {'blk/raw':>7}")
    for place, result in results[1:]:
        k = result["ranks"]
        for model in MODELS:
            r = result[model]
            ms = {name: _best_ms(r[name]) for name in ("nonblocking", "blocking", "raw")}
            bus = 2 * (k - 1) / k * r["bytes"] / 1e6  # bus megabytes: MB/ms = GB/s
            print(f"{place:>8} {k:>2} {model:>5} {r['bytes'] / 1e6:6.2f} {r['buckets']:>7} "
                  f"{ms['nonblocking']:9.2f} {ms['blocking']:7.2f} {ms['raw']:7.2f} "
                  f"{bus / ms['nonblocking']:7.2f} {bus / ms['blocking']:6.2f} "
                  f"{bus / ms['raw']:6.2f} {ms['raw'] / ms['blocking']:7.0%}")
    _predict(results)


def _predict(results: list[tuple[str, dict]]) -> None:
    print("\nPredicted weak-scaling efficiency on K machines (ring allreduce model with the "
          "measured compute, and each link's measured 2-rank bus bandwidth and latency; "
          "no overlap / perfect overlap)")
    single = results[0][1]
    links = {place: r for place, r in results if r["ranks"] == 2}
    print(f"{'model':>5} {'link':>8} {'W GB/s':>7} {'α µs':>6}"
          + "".join(f"{k:>13}" for k in (2, 8, 16, 32, 64)))
    for model in MODELS:
        times = single[model]["overlap"]
        compute = min(sum(t) for t in times)
        backward = min(t[1] for t in times)
        for place, link in links.items():
            size, buckets = link[model]["bytes"], link[model]["buckets"]
            bandwidth = size / min(link[model]["raw"])  # 2 ranks: bus = algorithm bandwidth
            latency = link["latency"] / 2  # a 2-rank ring allreduce is 2 messages
            cells = []
            for k in (2, 8, 16, 32, 64):
                comm = 2 * (k - 1) / k * size / bandwidth + 2 * (k - 1) * buckets * latency
                plain = compute / (compute + comm)
                hidden = compute / max(compute, compute - backward + comm)
                cells.append(f"{plain:4.0%} / {hidden:4.0%}")
            print(f"{model:>5} {place:>8} {bandwidth / 1e9:7.2f} {latency * 1e6:6.0f}"
                  + "".join(f"{c:>13}" for c in cells))
    print("(compute per step: " + ", ".join(
        f"{m} {_best_ms([sum(t) for t in single[m]['overlap']]):.1f} ms" for m in MODELS)
        + "; 1 process, 1 BLAS thread)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="measured steps per mode")
    parser.add_argument("--quick", action="store_true", help="10 steps, this machine only")
    parser.add_argument("--rank-job", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank_job:
        rank_job(args.steps, args.rank_job)
        return
    steps = 10 if args.quick else args.steps
    places = [("local", 2), ("local", 4)]
    import netns

    reason = None if not args.quick else "--quick"
    reason = reason or netns.available()
    if reason is None:
        places += [(rate, k) for rate in RATES for k in (2, 4)]
    else:
        print(f"namespaced hosts skipped: {reason}")
    results = [("local", measure(1, steps, "local"))]
    for place, ranks in places:
        print(f"measuring {ranks} ranks, {place} ...", flush=True)
        results.append((place, measure(ranks, steps, place)))
    report(results)


if __name__ == "__main__":
    main()
