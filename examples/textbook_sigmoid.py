"""The textbook network: one layer of sigmoid units trained by plain gradient descent.

The five steps of backpropagation, each written out with chainrule tensors:

    1. initialise   W small random numbers (seeded), b = 0
    2. forward      z = W x + b,  h = σ(z)         (a batch stacks samples as rows: Z = X Wᵀ + b)
    3. loss         J = 1/(2m) Σ (h − y)²           (m samples, y the one-hot target)
    4. backward     ∂J/∂W, ∂J/∂b by the chain rule  (``J.backward()``)
    5. update       W ← W − α ∂J/∂W,  b ← b − α ∂J/∂b

on the embedded 8×8 handwritten digits: 64 inputs, 10 sigmoid outputs, one per digit, full-batch
gradient descent. The first backward pass is checked against the gradient written by hand,
``∂J/∂W = 1/m ((h − y) ⊙ h (1 − h))ᵀ x``, so the chain rule can be seen to do exactly that.
The same network with library layers is ``cr.nn.Sequential(cr.nn.Linear(64, 10),
cr.nn.Sigmoid())`` with ``cr.nn.MSELoss(half=True)`` and ``cr.optim.SGD``.

Run: ``python examples/textbook_sigmoid.py [--epochs 300] [--lr 2.0] [--seed 0]``
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr

__all__ = ["train", "main"]


def train(x: np.ndarray, y: np.ndarray, *, epochs: int = 300, lr: float = 2.0, seed: int = 0,
          log_every: int = 0) -> tuple[cr.Tensor, cr.Tensor, list[float], float]:
    """Fit ``h = σ(W x + b)`` to one-hot targets by gradient descent on J = 1/(2m) Σ (h − y)².

    Args:
        x: inputs, one sample per row. y: integer class labels.
        epochs: gradient-descent steps, each over the whole training set.
        lr: the learning rate α.
        seed: seed of the initial weights.
        log_every: print J every this many epochs (0: silent).

    Returns:
        ``(W, b, losses, gradient_error)``: the trained parameters, J before each update, and
        the largest difference between the first ``∂J/∂W`` from ``backward`` and the
        hand-written formula.

    **Shape**: x ``(m, n)``, y ``(m,)``; W ``(k, n)`` and b ``(k,)`` with k = y.max() + 1.
    """
    m, n = x.shape
    k = int(y.max()) + 1
    inputs = cr.tensor(x)
    targets = cr.tensor(np.eye(k, dtype=x.dtype)[y])  # one-hot: y_j = 1 for the true class

    # 1. Initialise: small random weights break the symmetry between units; biases start at 0.
    rng = np.random.default_rng(seed)
    W = cr.tensor(rng.normal(0.0, 0.01, (k, n)).astype(x.dtype), requires_grad=True)
    b = cr.tensor(np.zeros(k, dtype=x.dtype), requires_grad=True)

    losses: list[float] = []
    gradient_error = float("nan")
    for epoch in range(epochs):
        # 2. Forward: z = W x + b for every sample at once, then the sigmoid h = σ(z).
        h = (inputs @ W.T + b).sigmoid()

        # 3. Loss: J = 1/(2m) Σ (h − y)², summed over the samples and the output units.
        J = ((h - targets) ** 2).sum() / (2 * m)

        # 4. Backward: the chain rule fills W.grad = ∂J/∂W and b.grad = ∂J/∂b.
        J.backward()
        if epoch == 0:  # the same gradient by hand: δ = (h − y) ⊙ σ'(z), σ'(z) = h (1 − h)
            delta = (h.data - targets.data) * h.data * (1 - h.data)
            gradient_error = float(np.abs(W.grad - delta.T @ x / m).max())

        # 5. Update: a step against the gradient, W ← W − α ∂J/∂W (in place, not recorded);
        #    then clear the gradients, which backward would otherwise add to.
        with cr.no_grad():
            W.data -= lr * W.grad
            b.data -= lr * b.grad
        W.grad = b.grad = None

        losses.append(J.item())
        if log_every and (epoch % log_every == 0 or epoch == epochs - 1):
            print(f"epoch {epoch:4d}  J = {losses[-1]:.4f}")
    return W, b, losses, gradient_error


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=2.0, help="learning rate α")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = cr.datasets.load_digits(flatten=True)
    print(f"a single layer of {y_train.max() + 1} sigmoid units on {x_train.shape[1]} pixels, "
          f"{len(x_train)} training digits, J = 1/(2m) Σ (h − y)², gradient descent α = {args.lr}")
    W, b, losses, gradient_error = train(x_train, y_train, epochs=args.epochs, lr=args.lr,
                                         seed=args.seed, log_every=max(args.epochs // 10, 1))
    print(f"first ∂J/∂W: backward and the hand-written formula differ by at most "
          f"{gradient_error:.1e}")
    predicted = (x_test @ W.data.T + b.data).argmax(axis=1)  # the largest σ(z) is the largest z
    print(f"J {losses[0]:.4f} → {losses[-1]:.4f}; test accuracy {np.mean(predicted == y_test):.4f}")


if __name__ == "__main__":
    main()
