"""``chainrule train``: train a model on a data set and report its test accuracy.

With no arguments it is the README's main job: an MLP on the embedded digits, a progress bar,
and the test accuracy at the end. ``--out DIR`` writes the model (with a record of its data,
so ``evaluate`` and ``predict`` see data as training did), its history and its curves, as one
run that ``--resume`` continues after a crash (``chainrule.commands.run_folder``). Under
``mpirun`` (``chainrule launch -n 4 -- chainrule train …``) it trains data-parallel with the
single-process result; rank 0 prints and writes.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from .common import CommandError, load_data, positive_float, positive_int

__all__ = ["add_command", "run"]

# What a run is: these options, recorded in DIR/run.json, and what --resume reuses.
_DEFAULTS: dict[str, Any] = {
    "data": "digits", "model": None, "layers": [256, 128], "activation": "relu",
    "optimizer": "adam", "lr": 2e-3, "epochs": None, "batch_size": 32, "seed": 0,
}
# The model and epochs ``chainrule train --data NAME`` uses unless told otherwise.
_DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "fashion-mnist": {"epochs": 10},
    "cifar10": {"model": "cnn", "epochs": 10},
    "bbc-news": {"model": "bow", "epochs": 10},
    "tweet-sentiment": {"model": "bow", "epochs": 4},
    "spoken-digits": {"model": "speech-cnn", "epochs": 5},
}
_TEXT_DATA = ("bbc-news", "tweet-sentiment")  # their integers are token ids
_MODELS = ("mlp", "cnn", "speech-cnn", "bow", "lstm", "transformer")
# Models whose batches have one shape (images, features): their step is captured and replayed
# (cr.compile). Text models cut each batch to its longest text, a shape that varies.
_STATIC_SHAPES = ("mlp", "cnn", "speech-cnn")
_MAX_MLP_PARAMETERS = 100_000_000  # 400 MB of float32 weights, 1.6 GB with Adam's state
_VALIDATION = 0.1  # of the training part, held out to report val_loss


def add_command(subparsers) -> None:
    """Add ``train`` to the ``chainrule`` command's subcommands."""
    from ..datasets import names

    train = subparsers.add_parser(
        "train", help="train a model and report its test accuracy",
        description="Train a model on a data set, report its test accuracy and, with --out, "
                    "write it with its history and curves.")
    train.add_argument("--data", help=f"{', '.join(names())} (shakespeare: use train-lm), or "
                                      "PATH.npz holding x_train, y_train, x_test, y_test "
                                      "(float targets train a regressor); default digits")
    train.add_argument("--model", help=f"{', '.join(_MODELS)}; default: mlp, cnn for cifar10, "
                                       "bow for texts, speech-cnn for spoken-digits")
    train.add_argument("--layers", type=_layer_sizes,
                       help="hidden layer sizes of the MLP (default 256,128)")
    train.add_argument("--activation", help="hidden activation of the MLP (default relu)")
    train.add_argument("--optimizer", help="sgd, adam, adamw, rmsprop, adagrad (default adam)")
    train.add_argument("--lr", type=positive_float, help="learning rate (default 2e-3)")
    train.add_argument("--epochs", type=positive_int,
                       help="default: 40 for digits and .npz files, 10 for texts, images and "
                            "Fashion-MNIST, 4 for tweets, 5 for speech")
    train.add_argument("--batch-size", type=positive_int, help="default 32")
    train.add_argument("--seed", type=int, help="seed of the split, the weights and the "
                                                "shuffling (default 0)")
    train.add_argument("--out", type=Path, help="write model.safetensors, history.csv, "
                                                "curves.png and run.json to this folder")
    train.add_argument("--resume", action="store_true",
                       help="continue the unfinished run in --out (its settings are reused)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run already in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--device", default="cpu",
                       help="cpu, cuda or cuda:N (a GPU needs chainrule[cuda]; default cpu)")
    train.add_argument("--no-compile", dest="compile", action="store_false",
                       help="run the training step eagerly instead of capturing and replaying "
                            "it (cr.compile, the same results bitwise; text models always run "
                            "eagerly: their batch shapes vary)")
    train.set_defaults(run=run)


def _layer_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layers takes sizes like 256,128, got {text!r}") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _settings(args, folder) -> dict[str, Any]:
    """The run's settings: the options given over the defaults, or for ``--resume`` the
    recorded ones (which options given again must repeat; ``--epochs`` may extend the run)."""
    given = {key: getattr(args, key) for key in _DEFAULTS if getattr(args, key) is not None}
    if not args.resume:
        return {**_DEFAULTS, **given}
    if folder is None:
        raise CommandError("--resume needs --out DIR, the folder of the run to continue")
    from ..distributed import is_main

    # Rank 0 checks that the run is unfinished; the other ranks only read its settings.
    recorded = folder.start({}, resume=True, overwrite=False) if is_main() else (
        folder.settings())
    changed = sorted(key for key, value in given.items()
                     if key != "epochs" and recorded.get(key) != value)
    if changed:
        raise CommandError(f"--resume continues the run in {folder.path} as it was set up; "
                           f"{', '.join('--' + k.replace('_', '-') for k in changed)} differ "
                           "from its run.json (only --epochs may change)")
    return {**_DEFAULTS, **recorded, **given}


def run(args) -> None:
    """Train the model ``args`` describe; print the test results; write ``--out``."""
    from ..datasets import canonical_name
    from ..distributed import is_main
    from ..names import lookup, normalize
    from .run_folder import RunFolder

    device = _device(args.device)  # refused before any data is loaded
    folder = RunFolder(args.out) if args.out else None
    if folder is not None and not args.resume and is_main():  # rank 0 alone owns the folder
        folder.state()  # refuse a file as --out before the data is loaded
    settings = _settings(args, folder)
    settings["data"] = data = canonical_name(settings["data"])
    defaults = _DATA_DEFAULTS.get(data, {})
    settings["model"] = settings["model"] or defaults.get("model", "mlp")
    settings["epochs"] = settings["epochs"] or defaults.get("epochs", 40)
    if normalize(settings["model"]) == normalize("char-lm"):
        raise CommandError("char-lm is a language model: train it with chainrule train-lm")
    settings["model"] = lookup("model", settings["model"], {m: m for m in _MODELS})
    job = _prepare(data, settings)
    if folder is not None and not args.resume and is_main():
        folder.start(settings, resume=False, overwrite=args.overwrite)
    _train(job, settings, folder, quiet=args.quiet, device=device, compile_step=getattr(
        args, "compile", True) and settings["model"] in _STATIC_SHAPES and device.type == "cpu")


def _device(name: str):
    """``--device`` as a device that can be used here, or a one-line error saying why not."""
    from ..backend import as_device
    from ..cuda import device_count

    try:
        device = as_device(name)
    except (TypeError, ValueError) as error:
        raise CommandError(f"--device {name}: {error}") from None
    if device.type == "cuda" and (device.index or 0) >= device_count():
        try:
            import cupy  # noqa: F401
        except ImportError:
            raise CommandError(f"--device {name} needs CuPy: pip install 'chainrule[cuda]'"
                               ) from None
        raise CommandError(f"--device {name}: CuPy sees {device_count()} CUDA device(s)")
    return device


def _prepare(data: str, settings: dict) -> dict[str, Any]:
    """Load and check the data, then build the model and the optimizer: everything that can
    refuse the run happens before a file is written."""
    from .. import datasets, models, optim
    from ..data import train_test_split
    from ..distributed import convert_sync_batchnorm, world_size
    from ..random import manual_seed
    from .data import check_finite, model_inputs, targets, task_of, vocabulary_size
    from .record import make_record

    seed, model_name = settings["seed"], settings["model"]
    splits_itself = data.endswith(".npz") or datasets.catalog.loader(data)[1]
    options = {"seed": seed} if splits_itself and not data.endswith(".npz") else {}
    (x_train, y_train), (x_test, y_test) = load_data(data, seed)
    task = task_of(data, y_train, y_test)
    token_ids = data in _TEXT_DATA
    inputs = {name: model_inputs(data, model_name, x, token_ids)
              for name, x in (("x_train", x_train), ("x_test", x_test))}
    check_finite(data, inputs)
    x_fit, y_fit = inputs["x_train"], targets(task, y_train)
    if len(x_fit) < 2:
        raise CommandError(f"{data}: {len(x_fit)} training sample is too few (one tenth is "
                           "held out for validation)")
    x_fit, x_val, y_fit, y_val = train_test_split(
        x_fit, y_fit, test_size=_VALIDATION, seed=seed,
        stratify=y_fit if task.kind == "classification" else None)
    build_options: dict[str, Any] = {}
    if model_name == "mlp":
        build_options = {"layers": tuple(settings["layers"]),
                         "activation": settings["activation"]}
        _check_mlp_size(x_fit.shape[1:], settings["layers"], task.outputs)
    elif model_name in ("bow", "lstm", "transformer"):
        build_options["vocab_size"] = vocabulary_size(data, inputs["x_train"], inputs["x_test"])
    manual_seed(seed)
    model = models.build(model_name, x_fit.shape[1:], task.outputs, **build_options)
    if world_size() > 1:  # batch statistics of the global batch: the single-process result
        model = convert_sync_batchnorm(model)
    optimizer = optim.get(settings["optimizer"], model.parameters(), lr=settings["lr"])
    record = make_record(data, options, task, x_fit, x_test, y_test)
    return {"data": data, "task": task, "model": model, "optimizer": optimizer,
            "train": (x_fit, y_fit), "validation": (x_val, y_val),
            "test": (inputs["x_test"], targets(task, y_test)), "record": record}


def _check_mlp_size(input_shape: tuple, layers: list[int], outputs: int) -> None:
    widths = [math.prod(input_shape), *layers, outputs]
    count = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    if count > _MAX_MLP_PARAMETERS:
        raise CommandError(
            f"--layers {','.join(map(str, layers))} makes an MLP of {count:,} parameters "
            f"({4 * count / 2**30:,.1f} GiB of weights); the limit is "
            f"{_MAX_MLP_PARAMETERS:,}")


def _train(job: dict, settings: dict, folder, quiet: bool, device,
           compile_step: bool = True) -> None:
    from ..distributed import is_main
    from ..train import evaluate, fit
    from ..train.callbacks import BackupAndRestore, CSVLogger

    model, task, data = job["model"], job["task"], job["data"]
    callbacks: list = []
    backup = None
    if folder is not None:
        backup = BackupAndRestore(folder / folder.BACKUP, delete_checkpoint=False)
        callbacks = [CSVLogger(folder / folder.HISTORY), backup]
    kind = "" if task.kind == "classification" else " regressor"
    if is_main():  # under mpirun, rank 0 speaks for all (and its callbacks alone write)
        print(f"chainrule train: {settings['model']}{kind} on {data} "
              f"({len(job['train'][0])} train, {len(job['validation'][0])} validation, "
              f"{len(job['test'][0])} test samples, {model.num_parameters():,} parameters)")
    start = time.perf_counter()
    try:
        history = fit(model, job["train"], loss=task.loss, optimizer=job["optimizer"],
                      epochs=settings["epochs"], batch_size=settings["batch_size"],
                      validation_data=job["validation"], callbacks=callbacks,
                      progress=not quiet, seed=settings["seed"], device=device,
                      compile=compile_step)
    except KeyboardInterrupt:
        if folder is not None:
            print(f"interrupted; continue with: chainrule train --out {folder.path} --resume")
        raise
    seconds = time.perf_counter() - start
    if not is_main():  # rank 0 evaluates, reports and writes the files
        return
    result = evaluate(model, job["test"], loss=task.loss)
    epochs = len(history.epoch)
    resumed = f" (resumed after epoch {backup.restored_epoch})" if (
        backup is not None and backup.restored_epoch) else ""
    print(f"trained {epochs} epoch{'s' if epochs != 1 else ''}{resumed} in {seconds:.1f} s")
    print(describe(result, "test"))
    if folder is not None:
        _write(folder, job, history.history, data, settings["seed"])


def describe(result: dict[str, float], prefix: str) -> str:
    """``test loss 0.2101  test accuracy 0.9417``: a result of ``evaluate`` in one line, metric
    names as the user knows them (mae, r2)."""
    short = {"mean_absolute_error": "mae", "r2_score": "r2"}
    return "  ".join(f"{prefix} {short.get(k, k)} {v:.4f}" for k, v in result.items())


def _write(folder, job: dict, history: dict, data: str, seed: int) -> None:
    """The model with its metadata, then the curves; the backup goes last."""
    from .. import datasets
    from ..io import save

    metadata = dict(datasets.text_metadata(data, seed=seed) or {})
    classes = datasets.class_names(data)
    metadata.update({"data": job["record"], **({"classes": classes} if classes else {})})
    save(job["model"], folder / folder.MODEL, metadata=metadata)
    written = [folder.MODEL, folder.HISTORY, folder.SETTINGS]
    if _plot_history(history, folder):
        written.insert(2, folder.CURVES)
    else:
        print("curves.png not written: matplotlib is not installed (pip install matplotlib, or "
              "install chainrule with its plots extra)")
    folder.finish()
    print(f"wrote {', '.join(written)} to {folder.path}")


def _plot_history(history: dict, folder) -> bool:
    """The loss and first metric curves as ``curves.png``, when matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    metric = next((k for k in history if k not in ("loss", "lr") and not k.startswith("val_")),
                  None)
    panels = ["loss"] + ([metric] if metric else [])
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for axis, name in zip(axes[0], panels):
        for key in (name, f"val_{name}"):
            if key in history:
                axis.plot(range(1, len(history[key]) + 1), history[key], label=key)
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.legend()
    figure.tight_layout()
    folder.replace_with(folder.CURVES, lambda path: figure.savefig(path, dpi=100, format="png"))
    plt.close(figure)
    return True
