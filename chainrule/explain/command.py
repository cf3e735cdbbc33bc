"""``chainrule explain``: the chain rule of a network, every number shown and checked.

With no arguments it works the textbook example: a 2-2-1 sigmoid network on XOR with seeded
weights, one forward pass, one backward pass and one gradient-descent step with all their
numbers, then training until the loss has fallen and the predictions are right. Given a model
file it explains one batch of a data set's test split. ``--html`` writes the report.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..commands.common import CommandError, load_data, load_model, positive_int

__all__ = ["add_command", "run"]

# Epochs at which the XOR run prints its loss: roughly logarithmic, so the whole fall shows.
_REPORT_EPOCHS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 1500, 2000, 5000, 10000)


def add_command(subparsers) -> None:
    """Add ``explain`` to the ``chainrule`` command's subcommands."""
    parser = subparsers.add_parser(
        "explain", help="every term of the chain rule for a network, numerically checked",
        description="Without MODEL: the worked textbook example (a 2-2-1 sigmoid network on "
                    "XOR). With MODEL: explain one batch of --data's test split.")
    parser.add_argument("model", nargs="?", type=Path,
                        help="a .safetensors model written by chainrule (omit for XOR)")
    parser.add_argument("--data", help="data set whose test split gives the batch "
                                       "(default digits; needs MODEL)")
    parser.add_argument("--batch", type=positive_int, default=8,
                        help="samples in the explained batch (default 8)")
    parser.add_argument("--loss", default="cross_entropy",
                        help="loss name for a model file (default cross_entropy)")
    parser.add_argument("--html", type=Path, help="also write a self-contained HTML report")
    parser.add_argument("--lr", type=float, default=2.0,
                        help="learning rate η of the XOR example (default 2)")
    parser.add_argument("--epochs", type=positive_int, default=2000,
                        help="training epochs of the XOR example (default 2000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the XOR weights or of the data set's split")
    parser.set_defaults(run=run)


def run(args) -> None:
    """Explain ``args.model`` on a batch of ``--data``, or without a model the XOR example."""
    if args.model is None:
        if args.data is not None:
            raise CommandError("--data needs a MODEL file to explain; without one, explain "
                               "works the XOR example")
        if not (math.isfinite(args.lr) and args.lr > 0):
            raise CommandError(f"--lr must be a positive number, got {args.lr}")
        _xor(args)
    else:
        _model_file(args)


def _model_file(args) -> None:
    from ..commands.record import recorded_test_split
    from ..io import load_metadata
    from . import explain

    model = load_model(args.model)
    metadata = load_metadata(args.model)
    if "data" in metadata:  # written by chainrule train: its recorded test split, prepared
        x_test, y_test, _, _ = recorded_test_split(args.model, metadata, args.data, None)
    else:
        _, (x_test, y_test) = load_data(args.data or "digits", args.seed)
    if len(x_test) == 0:
        raise CommandError(f"the test split of {args.data} is empty")
    x, y = x_test[:args.batch], y_test[:args.batch]
    sequence = args.loss == "cross_entropy" and y.ndim == 2 and y.dtype.kind in "iu"
    explanation = explain(model, x, y, loss=_every_position if sequence else args.loss)
    print(explanation.render())
    if args.html:
        explanation.to_html(args.html)
        print(f"\nwrote {args.html}")


def _every_position(logits, target):
    """Cross-entropy over every position of a sequence: a language model's ``(N, T, V)``
    next-token scores against the ``(N, T)`` ids that follow."""
    from ..nn.functional import cross_entropy

    return cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def _xor(args) -> None:
    from .. import optim
    from ..train import callbacks, fit, predict
    from . import explain
    from .monitor import GradientMonitor
    from .textbook import xor_example

    model, x, y, loss = xor_example(args.seed)
    print("The worked example: a 2-2-1 sigmoid network learning XOR, J = 1/(2m) Σ (h − y)², "
          f"weights drawn with seed {args.seed}.\n")
    explanation = explain(model, x, y, loss)
    print(explanation.render())
    _gradient_step(model, x, y, loss, args.lr, optim.SGD(model.parameters(), lr=args.lr))

    print(f"\nTRAINING  {args.epochs} epochs of full-batch gradient descent, η = {args.lr:g}")
    reported = [e for e in _REPORT_EPOCHS if e < args.epochs] + [args.epochs]
    monitor = GradientMonitor()

    class _Report(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in reported:
                print(f"  epoch {epoch + 1:>6}   J = {logs['loss']:.6f}")

    fit(model, (x, y), loss=loss, optimizer=optim.SGD(model.parameters(), lr=args.lr),
        epochs=args.epochs, batch_size=len(x), shuffle=False, metrics=(), progress=False,
        callbacks=[_Report(), monitor])
    h = predict(model, x).reshape(-1)
    print("\nPREDICTIONS after training")
    print("  x₁  x₂   y   h = a[2]   rounded")
    for (x1, x2), target, output in zip(x.astype(int), y.reshape(-1).astype(int), h):
        mark = "✓" if round(float(output)) == target else "✗"
        print(f"  {x1:>2}  {x2:>2}  {target:>2}   {output:.4f}     {round(float(output))}  {mark}")
    if args.html:
        explanation.to_html(args.html, monitor=monitor)
        print(f"\nwrote {args.html}")


def _gradient_step(model, x, y, loss, lr: float, optimizer) -> None:
    """Print ``θ ← θ − η ∂J/∂θ`` with its numbers for every parameter, take the same step with
    the optimizer, and show that it agrees and that J fell."""
    from ..autograd import no_grad
    from ..nn import Linear
    from ..tensor import Tensor
    from .render_text import format_array

    print(f"\nGRADIENT DESCENT  θ ← θ − η ∂J/∂θ,  η = {lr:g}")
    print("─" * 100)
    optimizer.zero_grad()
    before = loss(model(Tensor(x)), Tensor(y))
    before.backward()
    expected = {}
    layers = [m for m in model.modules() if isinstance(m, Linear)]
    for layer, module in enumerate(layers, start=1):
        for letter, parameter in (("W", module.weight), ("b", module.bias)):
            if parameter is None:
                continue
            symbol = f"{letter}[{layer}]"
            new = parameter.data - np.asarray(lr, parameter.dtype) * parameter.grad
            expected[id(parameter)] = new
            print(f"  {symbol} ← {symbol} − η ∂J/∂{symbol}")
            print(f"       = {format_array(parameter.data)} − {lr:g} × "
                  f"{format_array(parameter.grad)}")
            print(f"       = {format_array(new)}")
    optimizer.step()
    same = all(np.allclose(p.data, expected[id(p)], rtol=1e-6, atol=1e-7)
               for p in model.parameters() if id(p) in expected)
    with no_grad():
        after = float(loss(model(Tensor(x)), Tensor(y)).item())
    print(f"  {'✓' if same else '✗'} SGD.step() gives {'these' if same else 'other'} values;  "
          f"J: {float(before.item()):.6f} → {after:.6f}")
