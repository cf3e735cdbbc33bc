"""A corrupted BackupAndRestore backup (or checkpoint) raises cr.LoadError naming the part,
never a TypeError/KeyError/IndexError/OverflowError, and never resumes with nonsense such as an
Adam step of -1 (issue 18.8)."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import LoadError, read_safetensors, write_safetensors
from chainrule.train.callbacks import BackupAndRestore, EarlyStopping

from .conftest import mlp


def _run(backup, data):
    cr.manual_seed(3)
    model = mlp()
    optimizer = cr.optim.Adam(model.parameters(), lr=0.01)
    scheduler = cr.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    callbacks = [EarlyStopping("loss", patience=5, restore_best_weights=True),
                 BackupAndRestore(backup, delete_checkpoint=False)]
    return cr.fit(model, data, loss="cross_entropy", optimizer=optimizer, scheduler=scheduler,
                  epochs=2, batch_size=40, progress=False, callbacks=callbacks)


def _set(tree, path, value):
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _swap(mapping, a, b):
    mapping[a], mapping[b] = mapping[b], mapping[a]


def _optimizer_state(tree):
    """The JSON of parameter 0's Adam state ({"__dict__": [[0, {...}], ...]})."""
    return tree["optimizer"]["state"]["__dict__"][0][1]


MUTATIONS = {
    # (dropping the part that refers to the stored best weights is caught first)
    "extra null": (lambda t: _set(t, ["extra"], None), "not referenced"),
    "extra list": (lambda t: _set(t, ["extra"], [1, 2]), "not referenced"),
    "callbacks null": (lambda t: _set(t, ["extra", "callbacks"], None), "not referenced"),
    "stop_training string": (lambda t: _set(t, ["extra", "stop_training"], "yes"),
                             "extra state"),
    "history null": (lambda t: _set(t, ["extra", "history"], None), "history"),
    "history strings": (lambda t: _set(t, ["extra", "history", "history", "loss"], ["a", "b"]),
                        "history"),
    "history short": (lambda t: _set(t, ["extra", "history", "epoch"], [0]), "history"),
    "loader batches": (lambda t: _set(t, ["extra", "loader", "batches_done"], -5),
                       "data loader"),
    "early stopping wait": (lambda t: _set(t, ["extra", "callbacks", 1, "wait"], -1),
                            "EarlyStopping"),
    "early stopping type": (lambda t: _set(t, ["extra", "callbacks", 1, "wait"], [1]),
                            "EarlyStopping"),
    "early stopping weights": (lambda t: _swap(t["extra"]["callbacks"][1]["best_weights"],
                                               "0.weight", "0.bias"), "EarlyStopping"),
    "extra without stop_training": (lambda t: t["extra"].pop("stop_training"), "extra state"),
    "scheduler missing": (lambda t: _set(t, ["extra", "callbacks", 0, "schedule"], {}),
                          "missing keys"),
    "scheduler epoch": (lambda t: _set(t, ["extra", "callbacks", 0, "schedule", "last_epoch"],
                                       "2"), "last_epoch"),
    "scheduler lrs": (lambda t: _set(t, ["extra", "callbacks", 0, "schedule", "base_lrs"], []),
                      "base_lrs"),
    "scheduler lr inf": (lambda t: _set(t, ["extra", "callbacks", 0, "schedule", "_last_lr"],
                                        [1e309]), "finite"),
    "epoch -1": (lambda t: _set(t, ["epoch"], -1), "epoch"),
    "epoch string": (lambda t: _set(t, ["epoch"], "2"), "epoch"),
    "epoch bool": (lambda t: _set(t, ["epoch"], True), "epoch"),
    "adam step -1": (lambda t: _set(_optimizer_state(t), ["step"], -1), "count and must be >= 0"),
    "adam step string": (lambda t: _set(_optimizer_state(t), ["step"], "x"), "optimizer"),
    "adam step inf": (lambda t: _set(_optimizer_state(t), ["step"], 1e309), "optimizer"),
    "lr inf": (lambda t: _set(t, ["optimizer", "param_groups", 0, "lr"], 1e309), "finite"),
    "lr missing": (lambda t: t["optimizer"]["param_groups"][0].pop("lr"), "lacks \\['lr'\\]"),
    "groups null": (lambda t: _set(t, ["optimizer", "param_groups"], None), "optimizer"),
    "rng huge": (lambda t: _set(t, ["rng_state", "state", "state"], 2**200),
                 "random-generator"),
    "rng null": (lambda t: _set(t, ["rng_state"], None), "random-generator"),
}


@pytest.fixture(scope="module")
def backup(tmp_path_factory, request):
    path = tmp_path_factory.mktemp("backup") / "run.ckpt"
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(80, 4)).astype(np.float32), np.arange(80) % 3)
    _run(path, data)
    return path, data


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_corrupted_backup_raises_load_error(backup, tmp_path, name):
    path, data = backup
    tensors, info = read_safetensors(path)
    tree = copy.deepcopy(info["tree"])
    mutate, message = MUTATIONS[name]
    mutate(tree)
    corrupted = tmp_path / "run.ckpt"
    write_safetensors(corrupted, tensors, kind="checkpoint", tree=tree)
    with pytest.raises(LoadError, match=message):
        _run(corrupted, data)


def test_the_unaltered_backup_resumes(backup, tmp_path):
    path, data = backup
    tensors, info = read_safetensors(path)
    write_safetensors(tmp_path / "run.ckpt", tensors, kind="checkpoint", tree=info["tree"])
    assert _run(tmp_path / "run.ckpt", data).epoch == [0, 1]  # nothing left to train
