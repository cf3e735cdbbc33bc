"""``cr.set_num_threads`` / ``cr.get_num_threads``: NumPy's BLAS threads through threadpoolctl."""

import pytest
from threadpoolctl import threadpool_info

import chainrule as cr


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.fixture
def restore_threads():
    before = cr.get_num_threads()
    yield
    cr.set_num_threads(before)


@pytest.mark.parametrize("n", [1, 2])
def test_set_num_threads_limits_every_blas_library(n, restore_threads):
    cr.set_num_threads(n)
    assert _blas_threads() == {n}
    assert cr.get_num_threads() == n


@pytest.mark.parametrize("n, error, message", [
    (0, ValueError, "must be at least 1, got 0"),
    (-2, ValueError, "must be at least 1, got -2"),
    (1.5, TypeError, "must be an integer, got float 1.5"),
    ("2", TypeError, "must be an integer, got str '2'"),
    (True, TypeError, "must be an integer, got True"),
])
def test_bad_counts_are_refused_before_anything_changes(n, error, message, restore_threads):
    cr.set_num_threads(2)
    with pytest.raises(error, match=f"set_num_threads: n {message}"):
        cr.set_num_threads(n)
    assert cr.get_num_threads() == 2
