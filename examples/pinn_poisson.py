"""A physics-informed network: u(x) solving the Poisson problem u''(x) = f(x) on [0, 1] with
u(0) = u(1) = 0, learned from the equation alone (no samples of u).

f(x) = -π² sin(πx), so the solution is u(x) = sin(πx). The network u_θ(x) (a small tanh MLP) is
trained on the residual of the equation at collocation points plus the boundary conditions:

    L(θ) = mean_i (u_θ''(x_i) - f(x_i))² + (u_θ(0)² + u_θ(1)²)

u_θ'' is the second derivative of the network with respect to its input, built with
``cr.autograd.grad(..., create_graph=True)`` twice; training then differentiates L, a third
derivative of the network, with respect to θ. The script prints the relative L2 error of u_θ
against sin(πx) on a fine grid and exits with an error above the bar (1e-2).

Usage:
    python examples/pinn_poisson.py [--steps 3000] [--points 64] [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

import chainrule as cr

BAR = 1e-2  # relative L2 error of u against the analytic solution


def source(x):
    return -math.pi ** 2 * np.sin(math.pi * x)


def second_derivative(model, x):
    """u(x) and u''(x) for a column of points x (a tensor that requires grad), recorded."""
    u = model(x)
    (du,) = cr.autograd.grad(u.sum(), x, create_graph=True)  # rows are independent: Σ is fine
    (d2u,) = cr.autograd.grad(du.sum(), x, create_graph=True)
    return u, d2u


def train(steps: int, points: int, width: int = 24, seed: int = 0):
    cr.manual_seed(seed)
    model = cr.nn.Sequential(cr.nn.Linear(1, width), cr.nn.Tanh(), cr.nn.Linear(width, width),
                             cr.nn.Tanh(), cr.nn.Linear(width, 1)).astype(np.float64)
    optimizer = cr.optim.Adam(model.parameters(), lr=1e-2)
    schedule = cr.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.01 ** (1 / steps))
    x = cr.tensor(np.linspace(0, 1, points)[:, None], requires_grad=True)
    f = cr.tensor(source(x.data))
    ends = cr.tensor(np.array([[0.0], [1.0]]))
    for step in range(steps + 1):
        _, d2u = second_derivative(model, x)
        residual = ((d2u - f) ** 2).mean()
        boundary = (model(ends) ** 2).sum()
        loss = residual + boundary
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % max(steps // 5, 1) == 0:
            print(f"step {step:5d}  residual {residual.item():.3e}  boundary "
                  f"{boundary.item():.3e}")
    return model


def relative_error(model) -> float:
    grid = np.linspace(0, 1, 1001)[:, None]
    with cr.no_grad():
        u = model(cr.tensor(grid)).data
    exact = np.sin(math.pi * grid)
    return float(np.linalg.norm(u - exact) / np.linalg.norm(exact))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--points", type=int, default=64)
    parser.add_argument("--quick", action="store_true",
                        help="the test suite's run: 800 steps on 32 points")
    args = parser.parse_args(argv)
    steps, points = (800, 32) if args.quick else (args.steps, args.points)
    model = train(steps, points)
    error = relative_error(model)
    print(f"relative L2 error of u against sin(pi x): {error:.2e} (bar {BAR:g})")
    if error > BAR:
        sys.exit(f"the error {error:.2e} is above the bar {BAR:g}")


if __name__ == "__main__":
    main()
