"""The worked XOR example shared by the explain tests."""

import pytest

import chainrule as cr
from chainrule.explain.textbook import xor_example


@pytest.fixture
def xor():
    """``(model, x, y, loss)`` of the 2-2-1 sigmoid network on XOR, seed 0."""
    return xor_example(0)


@pytest.fixture
def xor_explanation(xor):
    model, x, y, loss = xor
    return cr.explain(model, x, y, loss)
