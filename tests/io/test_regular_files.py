"""Paths a user names are opened only when they are regular files: a FIFO never blocks, a
folder says what was expected."""

import os
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import LoadError
from chainrule.io.arrays import read_npy, read_npz
from chainrule.io.files import open_regular


def _returns_quickly(function, *args):
    """Run ``function(*args)`` in a thread; fail if it is still blocked after 10 s."""
    outcome = {}

    def target():
        try:
            function(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), f"{function.__name__} blocked on a FIFO"
    return outcome.get("error")


@pytest.fixture
def fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "pipe.safetensors"
    os.mkfifo(path)
    return path


def _load_checkpoint(path):
    return cr.load_checkpoint(path, model=cr.nn.Linear(1, 1))


@pytest.mark.parametrize("reader", [cr.load_model, cr.load_state, cr.load_metadata,
                                    _load_checkpoint, read_npy, read_npz, open_regular])
def test_a_fifo_is_refused_without_blocking(fifo, reader):
    error = _returns_quickly(reader, fifo)
    assert isinstance(error, LoadError) and "is a FIFO (named pipe); expected" in str(error)


def test_a_folder_says_what_was_expected(tmp_path):
    with pytest.raises(LoadError, match=r"is a folder; expected a \.safetensors file"):
        cr.load_model(tmp_path)
    with pytest.raises(LoadError, match=r"is a folder; expected a \.npy array"):
        read_npy(tmp_path)


def test_a_missing_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing.npy")


def test_regular_files_read_as_before(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(3))
    with open_regular(tmp_path / "a.npy") as file:
        assert file.read(6) == b"\x93NUMPY"
