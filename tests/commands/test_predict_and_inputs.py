"""``chainrule predict`` prints class names where the model records them and a header for
``--proba``; every path named on the command line is checked before it is opened (a FIFO never
blocks, a folder says what was expected), and bad input files are one line."""

import io
import os
import struct
import threading

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(scope="module")
def fashion_like(tmp_path_factory):
    """A model trained by ``chainrule train --data fashion-mnist`` on small Fashion-MNIST
    files made here (found through $CHAINRULE_DATA), and some inputs."""
    from chainrule.cli import main

    folder = tmp_path_factory.mktemp("fashion")
    data = folder / "data" / "fashion-mnist"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 60), ("t10k", 20)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = (np.arange(count) % 10).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            (data / f"{prefix}-{kind}-ubyte").write_bytes(header + array.tobytes())
    old = os.environ.get("CHAINRULE_DATA")
    os.environ["CHAINRULE_DATA"] = str(folder / "data")
    try:
        assert main(["train", "--data", "fashion-mnist", "--epochs", "1", "--layers", "8",
                     "--quiet", "--out", str(folder / "run")]) == 0
    finally:
        if old is None:
            del os.environ["CHAINRULE_DATA"]
        else:
            os.environ["CHAINRULE_DATA"] = old
    np.save(folder / "inputs.npy", rng.random((3, 1, 28, 28), dtype=np.float32))
    return folder / "run" / "model.safetensors", folder / "inputs.npy"


def test_predict_prints_class_names(chainrule, fashion_like):
    model, inputs = fashion_like
    code, out, err = chainrule("predict", model, inputs)
    assert code == 0, err
    names = cr.datasets.class_names("fashion-mnist")
    expected = cr.predict(cr.load_model(model), np.load(inputs)).argmax(axis=1)
    assert out.splitlines() == [f"{k}\t{names[k]}" for k in expected]


def test_predict_proba_has_a_header(chainrule, fashion_like):
    model, inputs = fashion_like
    code, out, _ = chainrule("predict", model, inputs, "--proba")
    header, *rows = [line.split("\t") for line in out.splitlines()]
    assert header[:3] == ["class", "name", "p(T-shirt/top)"] and header[-1] == "p(Ankle boot)"
    assert len(rows) == 3 and all(len(row) == 12 for row in rows)
    np.testing.assert_allclose([sum(map(float, row[2:])) for row in rows], 1, atol=1e-3)


def test_flat_inputs_of_the_right_size_are_taken(chainrule, fashion_like, tmp_path):
    model, inputs = fashion_like
    np.save(tmp_path / "flat.npy", np.load(inputs).reshape(3, 784))
    _, flat, _ = chainrule("predict", model, tmp_path / "flat.npy")
    _, images, _ = chainrule("predict", model, inputs)
    assert flat == images


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("a,b,c\n1,2,3\n"), "is not a .npy array (the magic string is not "
                                                 "correct"),
    (lambda p: p.write_bytes(b""), "is empty; expected a .npy array"),
    (lambda p: p.write_bytes(_npz_bytes(x=np.zeros(3))), "is a .npz archive of several arrays"),
    (lambda p: p.mkdir(), "is a folder; expected a .npy array or a .wav recording"),
])
def test_bad_inputs_are_one_line(chainrule, fashion_like, tmp_path, make, message):
    model, _ = fashion_like
    path = tmp_path / "inputs.npy"
    make(path)
    code, _, err = chainrule("predict", model, path)
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_a_folder_as_the_model_says_what_was_expected(chainrule, tmp_path):
    code, _, err = chainrule("evaluate", tmp_path)
    assert code == 2 and "is a folder; expected a .safetensors model file" in err
    assert "Errno" not in err


def test_a_wav_file_needs_a_speech_model(chainrule, fashion_like, tmp_path):
    model, _ = fashion_like
    cr.audio.write_wav(tmp_path / "clip.wav", np.zeros(8000, np.float32), 16000)
    code, _, err = chainrule("predict", model, tmp_path / "clip.wav")
    assert code == 2 and "is not a speech model" in err


def _main_in_a_thread(argv) -> int:
    """Run the command line in a thread; fail if it blocks for 20 s."""
    from chainrule.cli import main

    status = []
    thread = threading.Thread(target=lambda: status.append(main(argv)), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), f"chainrule {' '.join(argv)} blocked on a FIFO"
    return status[0]


@pytest.mark.parametrize("argv", [
    ["predict", "{fifo}", "{inputs}"], ["predict", "{model}", "{fifo}"],
    ["evaluate", "{fifo}"], ["train", "--data", "{fifo}.npz"], ["generate", "{fifo}"],
    ["explain", "{fifo}"],
])
def test_a_fifo_never_blocks(fashion_like, tmp_path, capsys, argv):
    model, inputs = fashion_like
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    os.mkfifo(f"{fifo}.npz")
    argv = [a.format(fifo=fifo, model=model, inputs=inputs) for a in argv]
    assert _main_in_a_thread(argv) == 2
    assert "is a FIFO (named pipe); expected" in capsys.readouterr().err
