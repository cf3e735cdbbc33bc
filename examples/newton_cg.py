"""Second-order optimisation with Hessian-vector products.

1. The Hessian-vector product ``H v`` of a small MLP's loss (``cr.autograd.functional.hvp``:
   the gradient of ``∇L · v``, never forming H) against the exact Hessian
   (``cr.autograd.functional.hessian``) times v.
2. Newton-CG on L2-regularised logistic regression: each step solves ``H p = -∇L`` by
   conjugate gradients, using only Hessian-vector products, then moves to ``w + p``. It is
   compared with gradient descent (step 1/L, L the largest curvature) in the number of
   iterations to bring ‖∇L‖ below a tolerance.

Usage:
    python examples/newton_cg.py [--samples 400] [--features 10] [--quick]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import chainrule as cr
from chainrule.autograd.functional import hessian, hvp

F = cr.nn.functional
TOLERANCE = 1e-8  # on ‖∇L‖


def mlp_loss(sizes, x, y):
    """L(θ) of a tanh MLP whose weights are slices of one flat parameter vector θ."""
    def loss(theta):
        h, start = x, 0
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            w = theta[start:start + fan_in * fan_out].reshape(fan_out, fan_in)
            b = theta[start + fan_in * fan_out:start + (fan_in + 1) * fan_out]
            start += (fan_in + 1) * fan_out
            h = F.linear(h, w, b)
            h = h.tanh() if i < len(sizes) - 2 else h
        return F.mse_loss(h, y)

    size = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    return loss, size


def check_hvp(rng) -> float:
    sizes = (3, 6, 1)
    x = cr.tensor(rng.normal(size=(16, 3)))
    y = cr.tensor(rng.normal(size=(16, 1)))
    loss, size = mlp_loss(sizes, x, y)
    theta = cr.tensor(rng.normal(size=size) * 0.5)
    v = cr.tensor(rng.normal(size=size))
    _, product = hvp(loss, theta, v)
    exact = hessian(loss, theta).data @ v.data
    error = float(np.abs(product.data - exact).max() / np.abs(exact).max())
    print(f"MLP {'-'.join(map(str, sizes))} ({size} parameters): Hessian-vector product vs "
          f"the exact Hessian times v: relative error {error:.1e}")
    return error


def logistic_problem(rng, samples: int, features: int, l2: float = 1e-2):
    x = rng.normal(size=(samples, features))
    truth = rng.normal(size=features)
    labels = (rng.uniform(size=samples) < 1 / (1 + np.exp(-x @ truth))).astype(np.float64)
    x_t, y_t = cr.tensor(x), cr.tensor(labels)

    def loss(w):
        return F.binary_cross_entropy_with_logits(x_t @ w, y_t) + l2 / 2 * (w * w).sum()

    # Curvature bound of the logistic loss: L = λ_max(XᵀX) / (4n) + l2.
    lipschitz = np.linalg.eigvalsh(x.T @ x).max() / (4 * samples) + l2
    return loss, lipschitz


def gradient(loss, w):
    w = cr.tensor(w, requires_grad=True)
    (g,) = cr.autograd.grad(loss(w), w)
    return g.data


def conjugate_gradient(loss, w, g, iterations: int = 50):
    """p ≈ -H⁻¹g from Hessian-vector products only."""
    p, r = np.zeros_like(g), -g
    d, rr = r.copy(), float(r @ r)
    for _ in range(iterations):
        hd = hvp(loss, cr.tensor(w), cr.tensor(d))[1].data
        alpha = rr / float(d @ hd)
        p, r = p + alpha * d, r - alpha * hd
        rr_new = float(r @ r)
        if rr_new ** 0.5 < 1e-12:
            break
        d, rr = r + rr_new / rr * d, rr_new
    return p


def newton_cg(loss, features: int, max_iterations: int = 50) -> int:
    w = np.zeros(features)
    for iteration in range(max_iterations):
        g = gradient(loss, w)
        if np.linalg.norm(g) < TOLERANCE:
            return iteration
        w = w + conjugate_gradient(loss, w, g)
    return max_iterations


def gradient_descent(loss, features: int, lipschitz: float, max_iterations: int) -> int:
    w = np.zeros(features)
    for iteration in range(max_iterations):
        g = gradient(loss, w)
        if np.linalg.norm(g) < TOLERANCE:
            return iteration
        w = w - g / lipschitz
    return max_iterations


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="the test suite's run (smaller)")
    args = parser.parse_args(argv)
    samples, features = (100, 4) if args.quick else (args.samples, args.features)
    rng = np.random.default_rng(0)
    error = check_hvp(rng)
    loss, lipschitz = logistic_problem(rng, samples, features)
    newton = newton_cg(loss, features)
    descent = gradient_descent(loss, features, lipschitz, max_iterations=20000)
    print(f"logistic regression ({samples} samples, {features} features), iterations to "
          f"||grad|| < {TOLERANCE:g}: Newton-CG {newton}, gradient descent {descent}")
    if error > 1e-10 or newton >= descent:
        sys.exit("the Hessian-vector product is off, or Newton-CG did not beat gradient descent")


if __name__ == "__main__":
    main()
