"""Shared test set-up: every test starts from the same global random state; fixtures for data
that a machine may lack skip with a reason saying how to get it."""

import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def _seed():
    cr.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def fashion_mnist_files():
    """Skip unless Fashion-MNIST is on this machine; tests never download it (30 MB)."""
    try:
        cr.datasets.load_fashion_mnist(download=False)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not on this machine: install Debian's "
                    "dataset-fashion-mnist, or download it once with python -c 'import "
                    "chainrule; chainrule.datasets.load_fashion_mnist()'")
