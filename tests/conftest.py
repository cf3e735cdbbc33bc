"""Shared test set-up: every test starts from the same global random state; fixtures for data
that a machine may lack skip with a reason saying how to get it."""

import fake_device
import pytest

import chainrule as cr

fake_device.register()
# The device layer of the suite runs on the CPU always, on the fake device (a NumPy test double
# for a GPU, tests/fake_device.py) always, and on CUDA when CuPy sees a GPU.
DEVICES = ["cpu", *fake_device.ACCELERATORS]


@pytest.fixture(params=DEVICES)
def device(request):
    """A device to run on: "cpu", "fake", and "cuda" where a GPU is usable."""
    return request.param


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
