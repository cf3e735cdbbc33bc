"""End to end on real data: the Fashion-MNIST MLP 784-256-128-10 reaches 88% test accuracy in
10 epochs with a fixed seed (issue 3's bar). Needs Debian's dataset-fashion-mnist (CI installs
it); skips cleanly without it. About 30 s on one busy core.

BLAS runs on one thread here: batches of 128 gain little from a second one, and on a machine
whose cores are busy (CI runners, shared hosts) waiting BLAS threads spin and slow the epoch
several times over (measured: 27 s with one thread, 170 s with two, on two loaded cores).
"""

import contextlib

import pytest

import chainrule as cr


@pytest.fixture(scope="module")
def fashion_mnist():
    try:
        return cr.datasets.load_fashion_mnist(flatten=True, download=False)
    except FileNotFoundError as error:
        pytest.skip(f"Fashion-MNIST is not installed here: {error}")


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def test_mlp_reaches_88_percent_in_10_epochs(fashion_mnist):
    (x_train, y_train), (x_test, y_test) = fashion_mnist
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype.name == "float32"
    cr.manual_seed(0)
    model = cr.nn.Sequential(
        cr.nn.Linear(784, 256), cr.nn.ReLU(),
        cr.nn.Linear(256, 128), cr.nn.ReLU(),
        cr.nn.Linear(128, 10),
    )
    optimizer = cr.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    with _one_blas_thread():
        history = cr.fit(model, (x_train, y_train), loss="cross_entropy", optimizer=optimizer,
                         epochs=10, batch_size=128, scheduler=scheduler, seed=0, progress=False)

    assert len(history.epoch) == 10
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]  # measured: 0.56 → 0.22
    result = cr.evaluate(model, (x_test, y_test), loss="cross_entropy")
    assert result["accuracy"] >= 0.88, result  # measured: 0.8916 with seed 0
    assert model[0].weight.dtype.name == "float32"
