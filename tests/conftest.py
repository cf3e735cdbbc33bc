"""Shared test set-up: every test starts from the same global random state."""

import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def _seed():
    cr.manual_seed(0)
    yield
