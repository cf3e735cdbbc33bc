"""Explain a real model: an MLP trained on the digits, one batch term by term, one HTML report.

Trains a 64-32-10 ReLU network with ``cr.explain.GradientMonitor`` watching, then explains
one test batch (``cr.explain``): every term of the chain rule, checked against backward and
against central differences, and writes a self-contained report with the gradient flow of
the whole run.

Run: ``python examples/explain_digits.py [--epochs 10] [--out digits_report.html]``
"""

from __future__ import annotations

import argparse

import chainrule as cr
import chainrule.models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8, help="samples in the explained batch")
    parser.add_argument("--out", default="digits_report.html", help="the HTML report")
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test) = cr.datasets.load("digits", seed=0)
    cr.manual_seed(0)
    model = chainrule.models.build("mlp", x_train.shape[1:], 10, layers=(32,))
    monitor = cr.explain.GradientMonitor()
    cr.fit(model, (x_train, y_train), loss="cross_entropy", optimizer="adam",
           epochs=args.epochs, seed=0, progress=False, callbacks=[monitor])
    print(f"test accuracy {cr.evaluate(model, (x_test, y_test))['accuracy']:.3f}")

    data = monitor.to_dict()
    for layer in data["layers"]:
        norms, ratios = data["grad_norm"][layer], data["update_ratio"][layer]
        print(f"layer {layer} ({data['kinds'][layer]}): gradient norm {norms[0]:.3g} → "
              f"{norms[-1]:.3g}, update/weight {ratios[0]:.2e} → {ratios[-1]:.2e}")
    for layer, dead in data["dead_relu"].items():
        print(f"ReLU {layer}: {100 * dead[-1]:.0f}% of units dead in the last epoch")

    explanation = cr.explain(model, x_test[:args.batch], y_test[:args.batch], "cross_entropy")
    print(f"one batch of {args.batch}: J = {explanation.loss:.4f}, every term verified: "
          f"{explanation.verified}, first disagreeing layer: {explanation.culprit}")
    explanation.to_html(args.out, monitor=monitor)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
