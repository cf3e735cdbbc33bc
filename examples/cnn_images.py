"""Image recognition with the default CNN on real images: Fashion-MNIST, MNIST-5k or digits.

The network is ``chainrule.models.cnn.cnn``: two blocks of 3x3 convolution, batch norm, ReLU
and 2x2 max-pooling, then a dropout-regularised dense head. It trains with Adam and a cosine
learning-rate decay; a tenth of the training images is held out for validation, and the test
images are only used once, at the end. The script prints the test accuracy and the training
time, and exits with an error if the accuracy misses the bar set for that data set.

=================  ==============================================  ============
data               images                                          bar (test)
=================  ==============================================  ============
fashion-mnist      60,000 train / 10,000 test, 28x28 clothing      91%
mnist-5k           4,000 train / 1,000 held out, 28x28 digits      97%
digits             1,437 train / 360 test, 8x8 digits (embedded)   98%
=================  ==============================================  ============

Run: ``python examples/cnn_images.py --data fashion-mnist [--epochs 8] [--out DIR]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import chainrule as cr
from chainrule.models.cnn import cnn

# Per data set: the loader, the accuracy bar and a recipe that reaches it.
RECIPES = {
    "fashion-mnist": dict(load=lambda: cr.datasets.load_fashion_mnist(), bar=0.91, epochs=8,
                          lr=2e-3, batch_size=64, model={}),
    "mnist-5k": dict(load=lambda: cr.datasets.load_mnist_5k(seed=0), bar=0.97, epochs=15,
                     lr=2e-3, batch_size=32, model={}),
    "digits": dict(load=lambda: cr.datasets.load_digits(seed=0), bar=0.98, epochs=20, lr=2e-3,
                   batch_size=32, model={"channels": (16, 32), "hidden": 64}),
}


def train(data: str, epochs: int | None = None, seed: int = 0, progress=True,
          limit: int | None = None):
    """Train the default CNN on ``data``; returns ``(model, history, test accuracy, seconds)``.

    ``limit`` keeps only the first ``limit`` training and test images (a quick run)."""
    recipe = RECIPES[data]
    (x_train, y_train), (x_test, y_test) = recipe["load"]()
    if limit:
        x_train, y_train, x_test, y_test = (a[:limit] for a in (x_train, y_train, x_test, y_test))
    x_train, x_val, y_train, y_val = cr.data.train_test_split(
        x_train, y_train, test_size=0.1, seed=seed, stratify=y_train)
    cr.manual_seed(seed)
    epochs = epochs or recipe["epochs"]
    model = cnn(x_train.shape[1:], 10, **recipe["model"])
    optimizer = cr.optim.Adam(model.parameters(), lr=recipe["lr"])
    scheduler = cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    start = time.perf_counter()
    history = cr.fit(model, (x_train, y_train), loss="cross_entropy", optimizer=optimizer,
                     epochs=epochs, batch_size=recipe["batch_size"], seed=seed,
                     validation_data=(x_val, y_val), scheduler=scheduler, progress=progress)
    seconds = time.perf_counter() - start
    accuracy = cr.evaluate(model, (x_test, y_test), loss="cross_entropy",
                           metrics=("accuracy",))["accuracy"]
    return model, history, accuracy, seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(RECIPES), default="fashion-mnist")
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="save the trained model here")
    args = parser.parse_args(argv)
    model, history, accuracy, seconds = train(args.data, args.epochs, args.seed)
    bar = RECIPES[args.data]["bar"]
    print(f"{args.data}: test accuracy {accuracy:.4f} (bar {bar:.2f}) after "
          f"{len(history.history['loss'])} epochs, {seconds:.0f} s of training "
          f"({model.num_parameters():,} parameters)")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        cr.save(model, args.out / f"cnn-{args.data}.safetensors")
    if accuracy < bar:
        raise SystemExit(f"test accuracy {accuracy:.4f} is below the bar {bar:.2f}")


if __name__ == "__main__":
    main()
