"""The valid inputs the fuzzer mutates: real outputs of chainrule's writers (and of NumPy's),
small enough that thousands of mutants load in seconds.

``build(folder)`` writes them and returns ``{target: [seed paths]}``; ``worker.TARGETS`` says
how each target loads its files.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.audio import write_wav
from chainrule.io import save_checkpoint
from chainrule.models import build as build_model

from .worker import checkpoint_model


class PickleBomb:
    """An object whose unpickling would run a shell command: the canary of ``.npy`` files."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _models(folder: Path) -> list[Path]:
    cr.manual_seed(0)
    models = {
        "mlp": build_model("mlp", (4,), 3, layers=(8,)),
        "cnn": cr.nn.Sequential(cr.nn.Conv2d(1, 2, 3), cr.nn.BatchNorm2d(2), cr.nn.ReLU(),
                                cr.nn.MaxPool2d(2), cr.nn.Flatten(), cr.nn.Linear(8, 3)),
        "lstm-text": build_model("lstm", (6,), 3, vocab_size=12, embedding_dim=4, hidden_size=5),
    }
    paths = []
    for name, model in models.items():
        paths.append(folder / f"{name}.safetensors")
        cr.save(model, paths[-1])
    paths.append(folder / "metadata.safetensors")
    cr.save(models["mlp"], paths[-1], metadata={
        "classes": ["a", "b", "c"], "vocabulary": {"<pad>": 0, "hello": 1}})
    paths.append(folder / "state.safetensors")
    cr.save_state(models["cnn"], paths[-1])
    return paths


def _checkpoint(folder: Path) -> Path:
    model, optimizer = checkpoint_model()
    x = cr.tensor(np.ones((2, 4), np.float32))
    model(x).sum().backward()
    optimizer.step()
    path = folder / "checkpoint.safetensors"
    save_checkpoint(path, model=model, optimizer=optimizer, epoch=3,
                    extra={"history": {"loss": [1.0, 0.5]}, "note": "seed"})
    return path


def _idx(folder: Path) -> list[Path]:
    images = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4)
    raw = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", 3, 4, 4) + images.tobytes()
    labels = struct.pack(">BBBBI", 0, 0, 0x0D, 1, 2) + np.array([1.5, -2], ">f4").tobytes()
    paths = [folder / "images.idx", folder / "images.idx.gz", folder / "floats.idx"]
    paths[0].write_bytes(raw)
    paths[1].write_bytes(gzip.compress(raw, mtime=0))
    paths[2].write_bytes(labels)
    return paths


def _wav(folder: Path) -> list[Path]:
    t = np.arange(800) / 8000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    paths = [folder / "tone16.wav", folder / "tone8-stereo.wav", folder / "tone-11k.wav"]
    write_wav(paths[0], tone, 8000)
    write_wav(paths[1], np.stack([tone, -tone]), 8000, sample_width=1)
    write_wav(paths[2], tone, 11025)
    return paths


def _cifar(folder: Path) -> list[Path]:
    """Six 2-record batch files; the fuzzer mutates ``test_batch.bin`` in a copy of them."""
    cifar = folder / "cifar"
    cifar.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        records = rng.integers(0, 256, size=(2, 3073), dtype=np.uint8)
        records[:, 0] = [3, 7]
        (cifar / name).write_bytes(records.tobytes())
    return [cifar / "test_batch.bin"]


def _arrays(folder: Path, canary: str) -> tuple[list[Path], list[Path]]:
    npy = [folder / "floats.npy", folder / "ints.npy", folder / "bomb.npy"]
    np.save(npy[0], np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4))
    np.save(npy[1], np.arange(5, dtype=np.int64))
    np.save(npy[2], np.array([PickleBomb(f"touch {canary}")], dtype=object), allow_pickle=True)
    npz = [folder / "data.npz", folder / "compressed.npz", folder / "bomb.npz"]
    arrays = {"x_train": np.ones((4, 3), np.float32), "y_train": np.arange(4)}
    np.savez(npz[0], **arrays)
    np.savez_compressed(npz[1], **arrays)
    with open(npz[2], "wb") as file:  # savez refuses object arrays without pickling them
        np.savez(file, x=np.array([PickleBomb(f"touch {canary}")], dtype=object))
    return npy, npz


def build(folder: str | os.PathLike, canary: str) -> dict[str, list[Path]]:
    """Write every seed into ``folder``; ``{target: [paths]}``."""
    folder = Path(folder)
    models = _models(folder)
    npy, npz = _arrays(folder, canary)
    assert not os.path.exists(canary)
    return {"model": models[:4], "state": [models[4]], "checkpoint": [_checkpoint(folder)],
            "npy": npy, "npz": npz, "idx": _idx(folder), "wav": _wav(folder),
            "cifar": _cifar(folder)}


__all__ = ["build", "PickleBomb"]
