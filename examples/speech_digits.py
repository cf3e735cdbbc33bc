"""Recognise spoken digits from raw audio: synthesised voices, log-mel features, a small CNN.

The data are the digits zero to nine said by espeak-ng (8 English accents x 20 voice variants x
3 speeds x 2 pitches) and, when installed, flite's voices. The test set holds out whole voices
(4 variants in every accent, and one flite voice) and adds white noise at 10 dB SNR; training
clips get one augmented copy each (time shift, gain, noise at 5-30 dB). The model is
``models.speech_cnn``: the front end that makes the log-mel features, then three
conv-BN-ReLU-pool blocks and a small dense head, trained with ``cr.fit``.

    python examples/speech_digits.py --out runs/speech

writes the model (``chainrule predict runs/speech/model.safetensors clip.wav`` then names the
digit in a recording), the training history and a confusion matrix PNG.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.data import train_test_split
from chainrule.datasets.spoken_digits import DIGIT_WORDS
from chainrule.train.callbacks import CSVLogger


def _plot_confusion(matrix: np.ndarray, accuracy: float, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axis = plt.subplots(figsize=(6, 5.4))
    image = axis.imshow(matrix, cmap="Blues")
    for (true, pred), count in np.ndenumerate(matrix):
        if count:
            axis.text(pred, true, str(count), ha="center", va="center", fontsize=8,
                      color="white" if count > matrix.max() / 2 else "black")
    axis.set_xticks(range(10), DIGIT_WORDS, rotation=45)
    axis.set_yticks(range(10), DIGIT_WORDS)
    axis.set_xlabel("predicted")
    axis.set_ylabel("spoken")
    axis.set_title(f"held-out voices, 10 dB SNR: accuracy {accuracy:.1%}")
    figure.colorbar(image, ax=axis)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, help="where clips and features are cached")
    parser.add_argument("--out", type=Path, help="write model, history and confusion matrix")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = cr.datasets.spoken_digits(args.cache_dir,
                                                                     seed=args.seed)
    data_seconds = time.perf_counter() - start
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.1,
                                                      seed=args.seed, stratify=y_train)
    print(f"data: {len(x_train)} train, {len(x_val)} validation, {len(x_test)} test (held-out "
          f"voices, 10 dB SNR) features {x_train.shape[1:]} in {data_seconds:.1f} s")

    cr.manual_seed(args.seed)
    model = cr.models.build("speech-cnn", x_train.shape[1:], 10)
    optimizer = cr.optim.get("adam", model.parameters(), lr=args.lr)
    scheduler = cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    callbacks = []
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        callbacks.append(CSVLogger(args.out / "history.csv"))
    start = time.perf_counter()
    cr.fit(model, (x_train, y_train), loss="cross_entropy", optimizer=optimizer,
           epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
           validation_data=(x_val, y_val), scheduler=scheduler, callbacks=callbacks)
    train_seconds = time.perf_counter() - start

    predicted = cr.predict(model, x_test).argmax(axis=1)
    accuracy = cr.metrics.accuracy(y_test, predicted)
    matrix = cr.metrics.confusion_matrix(y_test, predicted, num_classes=10)
    print(f"trained {args.epochs} epochs in {train_seconds:.0f} s "
          f"({model.num_parameters():,} parameters)")
    print(f"test accuracy on held-out voices at 10 dB SNR: {accuracy:.4f}")
    print("confusion matrix (rows: spoken digit, columns: predicted):")
    print(matrix)
    if args.out:
        cr.save(model, args.out / "model.safetensors")
        if _plot_confusion(matrix, accuracy, args.out / "confusion.png"):
            print(f"wrote {args.out / 'confusion.png'}")
        print(f"wrote {args.out / 'model.safetensors'}")
    return accuracy


if __name__ == "__main__":
    main()
