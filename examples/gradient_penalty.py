"""A tiny WGAN-GP: a critic trained with the gradient penalty (‖∂D/∂x̂‖ - 1)², differentiated
through, and a generator that learns to move its samples onto the data.

The data are points of a 2-d Gaussian centred at (2, -1); the generator is an affine map of
Gaussian noise. Each critic step minimises

    D(fake) - D(real) + λ (‖∂D/∂x̂‖ - 1)²   at x̂ = ε real + (1 - ε) fake,  ε ~ U(0, 1),

where ∂D/∂x̂ comes from ``cr.autograd.grad(..., create_graph=True)``, so the penalty's own
gradient with respect to the critic's weights is a second derivative of D. The generator
minimises -D(fake). The script prints the mean of the generator's samples (it should reach
the data's) and the critic's gradient norm at x̂ (the penalty holds it near 1).

Usage:
    python examples/gradient_penalty.py [--steps 600] [--quick]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import chainrule as cr

CENTRE = np.array([2.0, -1.0])
PENALTY = 10.0  # λ


def penalty(critic, real, fake, rng):
    """λ mean (‖∂D/∂x̂‖ - 1)² and the mean gradient norm, at points between real and fake."""
    eps = cr.tensor(rng.uniform(size=(real.shape[0], 1)).astype(np.float32))
    between = (eps * real + (1 - eps) * fake.detach()).detach().requires_grad_()
    (slope,) = cr.autograd.grad(critic(between).sum(), between, create_graph=True)
    norm = ((slope * slope).sum(axis=1) + 1e-12).sqrt()
    return PENALTY * ((norm - 1) ** 2).mean(), float(norm.data.mean())


def train(steps: int, critic_steps: int = 5, batch: int = 64, seed: int = 0):
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = cr.nn.Linear(2, 2)
    critic = cr.nn.Sequential(cr.nn.Linear(2, 32), cr.nn.Tanh(), cr.nn.Linear(32, 32),
                              cr.nn.Tanh(), cr.nn.Linear(32, 1))
    g_opt = cr.optim.Adam(generator.parameters(), lr=2e-2, betas=(0.5, 0.9))
    d_opt = cr.optim.Adam(critic.parameters(), lr=2e-3, betas=(0.5, 0.9))

    def noise():
        return cr.tensor(rng.normal(size=(batch, 2)).astype(np.float32))

    for step in range(steps + 1):
        for _ in range(critic_steps):
            real = cr.tensor((CENTRE + 0.5 * rng.normal(size=(batch, 2))).astype(np.float32))
            fake = generator(noise())
            gp, norm = penalty(critic, real, fake, rng)
            loss = critic(fake.detach()).mean() - critic(real).mean() + gp
            d_opt.zero_grad()
            loss.backward()
            d_opt.step()
        g_loss = -critic(generator(noise())).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        if step % max(steps // 5, 1) == 0:
            print(f"step {step:4d}  critic loss {loss.item():+.3f}  penalty {gp.item():.3f}  "
                  f"‖∂D/∂x̂‖ {norm:.2f}")
    with cr.no_grad():
        mean = generator(cr.tensor(rng.normal(size=(4096, 2)).astype(np.float32))).data.mean(0)
    return mean, norm


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--quick", action="store_true", help="the test suite's run: 150 steps")
    args = parser.parse_args(argv)
    mean, norm = train(150 if args.quick else args.steps)
    distance = float(np.linalg.norm(mean - CENTRE))
    print(f"generator mean ({mean[0]:.2f}, {mean[1]:.2f}), data mean ({CENTRE[0]:g}, "
          f"{CENTRE[1]:g}): distance {distance:.2f}; critic gradient norm {norm:.2f}")
    if distance > 0.5:
        sys.exit("the generator did not reach the data")


if __name__ == "__main__":
    main()
