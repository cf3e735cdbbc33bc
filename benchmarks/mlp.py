"""One epoch of an MLP on Fashion-MNIST: chainrule (through ``cr.fit`` and a plain loop) against
PyTorch, scikit-learn's ``MLPClassifier`` and a hand-written NumPy loop, timed alternately in one
run; then the peak memory of each, every one in a child process of its own.

The network is 784-256-128-10 with ReLU, softmax cross-entropy and plain SGD (lr 0.1, batch
128) on the 60,000 float32 training images. Everything but scikit-learn starts from the same
weights and visits the same shuffled batches, so after one epoch their test losses must agree to
float32 rounding (the script checks it on fresh copies before timing); scikit-learn initialises
and shuffles its own way and is timed only.

One timed "step" below is one whole epoch (469 batches). ``cr.fit`` runs with ``metrics=()`` and
no progress display, so it does the work of the other loops plus its epoch-average loss.

Peak memory: each contender runs in a child process of its own, which loads the data, restarts
its peak-RSS count (so the loader's transient copies do not hide the training's peak), trains one
epoch and reports ``ru_maxrss`` (interpreter, libraries, resident data and training), how much of
it the training added, and, except for PyTorch, the peak of the memory NumPy and Python allocated
during the training as ``tracemalloc`` sees it.

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/mlp.py [--samples 7]
    python benchmarks/mlp.py --threads 1   # on a shared machine: waiting BLAS threads spin
    python benchmarks/mlp.py --child NAME   # one contender's peak memory, as JSON
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import threadpoolctl
from _common import add_arguments, alternate, machine, sgemm_rate, summary

import chainrule as cr

__all__ = ["CONTENDERS", "load_data", "main"]

SIZES = (784, 256, 128, 10)
BATCH = 128
LR = 0.1
SEED = 0


def load_data():
    """Fashion-MNIST as float32 rows of 784 pixels in [0, 1] and int64 labels; where it is not
    on the machine, random pixels and labels of its shapes (the same work per epoch; the test
    accuracies are then those of noise)."""
    try:
        return cr.datasets.load_fashion_mnist(flatten=True, download=False)
    except FileNotFoundError:
        print("Fashion-MNIST is not on this machine: timing random data of its shapes",
              file=sys.stderr)
    rng = np.random.default_rng(SEED)
    return tuple((rng.random((n, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[-1], n))
                 for n in (60_000, 10_000))


def _initial_weights() -> list[tuple[np.ndarray, np.ndarray]]:
    """chainrule's default initialisation (PyTorch's), as (weight, bias) arrays per layer."""
    cr.manual_seed(SEED)
    layers = [cr.nn.Linear(a, b) for a, b in zip(SIZES[:-1], SIZES[1:])]
    return [(layer.weight.data.copy(), layer.bias.data.copy()) for layer in layers]


def _orders(n: int):
    """The shuffled sample order of each epoch, the same sequence for every contender (and
    the one a ``DataLoader(..., shuffle=True, seed=SEED)`` draws)."""
    rng = np.random.default_rng(SEED)
    while True:
        yield rng.permutation(n)


def _model(nn, weights, tensor):
    """The same user code builds the model in chainrule and in PyTorch (``nn.Linear`` etc.)."""
    layers = []
    for i, (w, b) in enumerate(weights):
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight.data[...] = tensor(w).data
        linear.bias.data[...] = tensor(b).data
        layers += [linear, nn.ReLU()] if i < len(weights) - 1 else [linear]
    return nn.Sequential(*layers)


def _chainrule(x, y, weights):
    """The model, its SGD optimizer and a shuffling loader, as a user writes them."""
    model = _model(cr.nn, weights, cr.tensor)
    optimizer = cr.optim.SGD(model.parameters(), lr=LR)
    loader = cr.data.DataLoader((x, y), batch_size=BATCH, shuffle=True, seed=SEED)
    return model, optimizer, loader


def chainrule_fit(x, y, weights):
    model, optimizer, loader = _chainrule(x, y, weights)

    def epoch():
        cr.fit(model, loader, loss="cross_entropy", optimizer=optimizer, epochs=1, metrics=(),
               progress=False)

    return epoch, lambda xs: cr.predict(model, xs, batch_size=1000)


def chainrule_compiled(x, y, weights):
    """``fit(compile=True)``: the training step captured once and replayed (``cr.compile``)."""
    model, optimizer, loader = _chainrule(x, y, weights)

    def epoch():
        cr.fit(model, loader, loss="cross_entropy", optimizer=optimizer, epochs=1, metrics=(),
               progress=False, compile=True)

    return epoch, lambda xs: cr.predict(model, xs, batch_size=1000)


def chainrule_loop(x, y, weights):
    model, optimizer, loader = _chainrule(x, y, weights)

    def epoch():
        for xb, yb in loader:
            loss = cr.nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch, lambda xs: cr.predict(model, xs, batch_size=1000)


def pytorch(x, y, weights):
    import torch

    model = _model(torch.nn, weights, torch.from_numpy)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    orders = _orders(len(x))

    def epoch():
        order = torch.from_numpy(next(orders))
        for start in range(0, len(order), BATCH):
            index = order[start:start + BATCH]
            loss = torch.nn.functional.cross_entropy(model(inputs[index]), targets[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def predict(xs):
        with torch.no_grad():
            return model(torch.from_numpy(xs)).numpy()

    return epoch, predict


def numpy_loop(x, y, weights):
    """Forward, the fused softmax cross-entropy gradient, backward and update, by hand."""
    (w1, b1), (w2, b2), (w3, b3) = [(w.copy(), b.copy()) for w, b in weights]
    params = (w1, b1, w2, b2, w3, b3)
    lr = np.float32(LR)
    orders = _orders(len(x))

    def forward(xb):
        h1 = xb @ w1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3.T
        z += b3
        return h1, h2, z

    def epoch():
        order = next(orders)
        for start in range(0, len(order), BATCH):
            index = order[start:start + BATCH]
            xb, yb = x.take(index, axis=0), y.take(index)
            h1, h2, z = forward(xb)
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)  # softmax; dL/dz = (softmax - onehot) / m
            z[np.arange(len(yb)), yb] -= 1
            z *= np.float32(1 / len(yb))
            d2 = z @ w3
            d2 *= h2 > 0
            d1 = d2 @ w2
            d1 *= h1 > 0
            grads = (d1.T @ xb, d1.sum(axis=0), d2.T @ h1, d2.sum(axis=0), z.T @ h2, z.sum(axis=0))
            for param, grad in zip(params, grads):
                grad *= lr
                param -= grad

    return epoch, lambda xs: forward(xs)[2]


def sklearn(x, y, weights):
    """``MLPClassifier``: same sizes, ReLU, plain SGD; its own initialisation and shuffling."""
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], activation="relu", solver="sgd",
                          learning_rate_init=LR, batch_size=BATCH, momentum=0.0,
                          nesterovs_momentum=False, alpha=0.0, random_state=SEED)
    classes = np.arange(SIZES[-1])

    def epoch():
        model.partial_fit(x, y, classes=classes)  # one pass over the data

    return epoch, model.predict_proba


CONTENDERS = {"chainrule_fit": chainrule_fit, "chainrule_compiled": chainrule_compiled,
              "chainrule_loop": chainrule_loop,
              "pytorch": pytorch, "sklearn": sklearn, "numpy": numpy_loop}
_RATIOS = [("chainrule_compiled", "pytorch"), ("chainrule_compiled", "numpy"),
           ("chainrule_compiled", "chainrule_fit"), ("chainrule_fit", "pytorch"),
           ("chainrule_loop", "pytorch"),
           ("chainrule_fit", "sklearn"), ("chainrule_fit", "numpy"),
           ("chainrule_loop", "numpy"), ("numpy", "pytorch"), ("sklearn", "pytorch")]


def _sgemm_share(results: dict[str, np.ndarray], samples: int) -> str:
    """Each contender's matrix-product rate per epoch from the exact FLOPs of its products
    (forward, weight gradients, input gradients of all layers but the first), as a share of
    the rate of this machine's sgemm on the largest product now."""
    products = [a * b for a, b in zip(SIZES[:-1], SIZES[1:])]
    flops = 2 * samples * (2 * sum(products) + sum(products[1:]))
    rate = sgemm_rate(BATCH, SIZES[0], SIZES[1])
    return (f"{flops / 1e9:.1f} GFLOP of products per epoch; sgemm ({BATCH}, {SIZES[0]}) @ "
            f"({SIZES[0]}, {SIZES[1]}) runs at {rate / 1e9:.1f} GFLOP/s here: " + ", ".join(
                f"{name} {flops / (np.median(t) / 1e6) / rate:.0%}" for name, t in results.items())
            + " of it")


def _status_mib(field: str) -> float | None:
    """A memory figure of this process from Linux's /proc/self/status, in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Restart the peak-RSS count from the current size (Linux), so the data loader's
    transient copies do not mask the training's peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _child(name: str) -> None:
    """Load the data, then train one epoch with ``name`` and print its memory as JSON:
    ``peak_rss_mib`` (``ru_maxrss`` over the training, the data resident), ``added_mib`` (that
    peak above the size with the data loaded) and, for contenders whose memory NumPy allocates,
    ``traced_mib``: tracemalloc's peak of what the training allocated."""
    (x, y), _ = load_data()
    loaded = _status_mib("VmRSS")
    reset = _reset_peak_rss()
    traced = name != "pytorch"  # tracemalloc sees NumPy's and Python's allocations only
    if traced:
        tracemalloc.start()
    epoch, _ = CONTENDERS[name](x, y, _initial_weights())
    epoch()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {"peak_rss_mib": peak, "peak_reset": reset,
              "added_mib": None if loaded is None else peak - loaded,
              "traced_mib": tracemalloc.get_traced_memory()[1] / 2**20 if traced else None}
    print(json.dumps(report))


def _memory(names: list[str]) -> dict[str, dict]:
    out = {}
    for name in names:
        run = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", name],
                             capture_output=True, text=True, check=True)
        out[name] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def _memory_table(memory: dict[str, dict]) -> str:
    torch = memory.get("pytorch", {}).get("peak_rss_mib")
    lines = ["peak memory (MiB)  peak RSS  added by training  traced allocations  vs pytorch"]
    for name, row in memory.items():
        peak, added, traced = row["peak_rss_mib"], row["added_mib"], row["traced_mib"]
        added = "" if added is None else f"{added:.0f}"
        traced = "" if traced is None else f"{traced:.1f}"
        ratio = f"{peak / torch:.2f}x" if torch else ""
        lines.append(f"{name:17}  {peak:8.0f}  {added:>16}  {traced:>18}  {ratio:>10}")
    if not all(row["peak_reset"] for row in memory.values()):
        lines.append("(peak RSS could not be reset after loading: it includes the loader's peak)")
    return "\n".join(lines)


def _agreement(predictors: dict, x_test, y_test) -> dict[str, tuple[float, float]]:
    """Test loss and accuracy of each contender's model after the run."""
    results = {}
    for name, predict in predictors.items():
        out = np.asarray(predict(x_test), dtype=np.float64)
        if name == "sklearn":  # probabilities, not logits
            log_p = np.log(np.clip(out, 1e-12, None))
        else:
            shifted = out - out.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_p[np.arange(len(y_test)), y_test].mean()
        results[name] = (float(loss), float((out.argmax(axis=1) == y_test).mean()))
    return results


def _check_same_start(names, x, y, x_test, y_test, weights) -> None:
    """One epoch of each contender that starts from ``weights`` (all but scikit-learn), on fresh
    copies: their test losses must agree to float32 rounding, or the comparison is not fair.
    (After many epochs, rounding differences between the libraries' products grow too large
    to tell a real difference by.)"""
    same_start = [name for name in names if name != "sklearn"]
    if len(same_start) < 2:
        return
    predictors = {}
    for name in same_start:
        epoch, predict = CONTENDERS[name](x, y, weights)
        epoch()
        predictors[name] = predict
    scores = _agreement(predictors, x_test, y_test)
    print("after one epoch from the same weights, test loss: " + ", ".join(
        f"{name} {loss:.5f}" for name, (loss, _) in scores.items()))
    losses = [loss for loss, _ in scores.values()]
    if max(losses) - min(losses) > 2e-3:
        raise SystemExit("contenders that started alike disagree: the comparison is not fair")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, steps=1, samples=7, warmup=1)
    parser.add_argument("--only", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS),
                        help="time these contenders only")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--threads", type=int, help="limit BLAS and PyTorch threads (a shared "
                        "machine's busy cores make waiting threads spin)")
    parser.add_argument("--child", choices=list(CONTENDERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return
    # Children first: a child's ru_maxrss starts at the size of the process it was forked from.
    memory = None if args.no_memory else _memory(args.only)
    (x, y), (x_test, y_test) = load_data()
    weights = _initial_weights()
    _check_same_start(args.only, x, y, x_test, y_test, weights)
    built = {name: CONTENDERS[name](x, y, weights) for name in args.only}
    if args.threads:  # now that every library (scipy's BLAS with scikit-learn) is loaded
        threadpoolctl.threadpool_limits(args.threads)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(args.threads)
    print(machine())
    print(f"\nMLP {'-'.join(map(str, SIZES))}, ReLU, softmax cross-entropy, SGD lr {LR}, batch "
          f"{BATCH}, float32, {len(x):,} Fashion-MNIST images: one step = one epoch of "
          f"{-(-len(x) // BATCH)} batches; {args.samples} samples of {args.steps} each, "
          "alternated\n")
    start = time.perf_counter()
    results = alternate({name: epoch for name, (epoch, _) in built.items()}, steps=args.steps,
                        samples=args.samples, warmup=args.warmup, pause=args.pause)
    print(summary(results, ratios=[r for r in _RATIOS if set(r) <= set(results)]))
    print("median seconds per epoch: " + ", ".join(
        f"{name} {np.median(times) / 1e6:.3f}" for name, times in results.items())
        + f" (timed part: {time.perf_counter() - start:.0f} s)")
    print(_sgemm_share(results, len(x)))

    scores = _agreement({name: predict for name, (_, predict) in built.items()}, x_test, y_test)
    print("\nafter the run, test loss / accuracy: " + ", ".join(
        f"{name} {loss:.4f} / {accuracy:.4f}" for name, (loss, accuracy) in scores.items()))

    if memory is not None:
        print("\n" + _memory_table(memory))


if __name__ == "__main__":
    main()
