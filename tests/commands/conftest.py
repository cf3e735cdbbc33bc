"""Helpers for the command tests: run ``chainrule`` in-process, and small data files."""

import numpy as np
import pytest

from chainrule.cli import main


@pytest.fixture
def chainrule(capsys):
    """``chainrule(*argv)`` runs the command line in-process: ``(status, stdout, stderr)``."""

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def npz(tmp_path):
    """``npz(name, **arrays)`` writes a data file from a classification set of 60 + 20 samples
    of 4 features and 3 classes, with ``arrays`` replacing any of its arrays."""
    rng = np.random.default_rng(0)

    def write(name="data.npz", **arrays):
        x = rng.normal(size=(80, 4)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)
        data = {"x_train": x[:60], "y_train": y[:60], "x_test": x[60:], "y_test": y[60:]}
        path = tmp_path / name
        np.savez(path, **{**data, **arrays})
        return path

    return write
