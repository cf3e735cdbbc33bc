"""Vanishing gradients, seen: a 10-layer sigmoid MLP against a 10-layer ReLU MLP (He init).

Both networks train on the same digits with the same optimizer, each watched by
``cr.explain.GradientMonitor``. Backpropagation multiplies the gradient by ``σ'(z) ≤ 1/4`` at
every sigmoid layer, so by the first layer it has shrunk by orders of magnitude; ReLU passes
it through unchanged where a unit is active, and He initialisation (``W ~ N(0, 2/fan_in)``)
keeps its size steady from layer to layer. The script prints each layer's gradient norm and
writes one gradient-flow plot of both runs.

Run: ``python examples/vanishing_gradients.py [--epochs 10] [--out vanishing_gradients.png]``
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule.explain import plots

DEPTH = 10  # Linear layers, the last one giving the logits
WIDTH = 64


def build(activation: str, seed: int) -> cr.nn.Sequential:
    """``DEPTH`` Linear layers with ``activation`` between them; He initialisation for ReLU,
    PyTorch's default U(±1/√fan_in) for sigmoid."""
    generator = np.random.default_rng(seed)
    sizes = [64] + [WIDTH] * (DEPTH - 1) + [10]
    layers: list[cr.nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = cr.nn.Linear(fan_in, fan_out, generator=generator)
        if activation == "relu":
            cr.nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", generator=generator)
            cr.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if index < DEPTH - 1:
            layers.append(cr.nn.get_activation(activation))
    return cr.nn.Sequential(*layers)


def train(activation: str, data, epochs: int, seed: int):
    (x_train, y_train), (x_test, y_test) = data
    model = build(activation, seed)
    monitor = cr.explain.GradientMonitor()
    optimizer = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    cr.fit(model, (x_train, y_train), loss="cross_entropy", optimizer=optimizer, epochs=epochs,
           batch_size=32, seed=seed, progress=False, callbacks=[monitor])
    accuracy = cr.evaluate(model, (x_test, y_test))["accuracy"]
    return monitor, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="vanishing_gradients.png", help="the plot (PNG)")
    args = parser.parse_args()

    data = cr.datasets.load("digits", flatten=True, seed=args.seed)
    runs = {}
    for activation in ("sigmoid", "relu"):
        monitor, accuracy = train(activation, data, args.epochs, args.seed)
        runs[f"{DEPTH}-layer {activation}"] = monitor.to_dict()
        print(f"{DEPTH}-layer {activation} MLP: test accuracy {accuracy:.3f}")

    names = list(runs)
    print(f"\nmean gradient norm per batch, first epoch (layer 1 = input side, "
          f"{DEPTH} = output)")
    print(f"  {'layer':>5}  " + "  ".join(f"{name:>18}" for name in names))
    layers = [runs[name]["layers"] for name in names]
    for depth in range(DEPTH):
        norms = [runs[name]["grad_norm"][layers[i][depth]][0] for i, name in enumerate(names)]
        print(f"  {depth + 1:>5}  " + "  ".join(f"{norm:>18.3e}" for norm in norms))
    for i, name in enumerate(names):
        norms = runs[name]["grad_norm"]
        first, last = norms[layers[i][0]], norms[layers[i][-1]]
        print(f"{name}: layer 1 gets {first[0] / last[0]:.1e} of the output layer's gradient "
              f"norm in epoch 1, {first[-1] / last[-1]:.1e} in epoch {len(first)}")

    png = plots.gradient_flow(runs)
    if png is None:
        print("matplotlib is not installed: no plot")
        return
    with open(args.out, "wb") as file:
        file.write(png)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
