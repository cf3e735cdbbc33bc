"""``chainrule train-lm`` and ``chainrule generate``: a character-level language model from the
shell.

``train-lm`` trains ``CharLSTM`` on Shakespeare (or on any text) by truncated backpropagation
through time and saves it with its vocabulary; ``generate`` continues a prompt with it::

    chainrule train-lm --data shakespeare --hidden 256 --out runs/lm
    chainrule generate runs/lm/model.safetensors --prompt "ROMEO." --length 300 --top-k 10
"""

from __future__ import annotations

import math
from pathlib import Path

from ..commands.common import CommandError, positive_float, positive_int

__all__ = ["add_command"]


def add_command(subparsers) -> None:
    """Add the ``train-lm`` and ``generate`` subcommands to the ``chainrule`` parser."""
    lm = subparsers.add_parser(
        "train-lm", help="train a character-level LSTM language model on a text corpus")
    lm.add_argument("--data", default="shakespeare",
                    help="shakespeare (default), or PATH to a text file or a folder of .txt files")
    lm.add_argument("--hidden", type=positive_int, default=256, help="LSTM state size (256)")
    lm.add_argument("--layers", type=positive_int, default=1, help="stacked LSTM layers (1)")
    lm.add_argument("--embedding", type=positive_int, default=64,
                    help="character vector size (64)")
    lm.add_argument("--dropout", type=float, default=0.0, help="between LSTM layers (0)")
    lm.add_argument("--epochs", type=positive_int, default=1, help="passes over the text (1)")
    lm.add_argument("--max-steps", type=positive_int, help="stop after this many updates")
    lm.add_argument("--max-minutes", type=positive_float, help="stop after this much training time")
    lm.add_argument("--batch-size", type=positive_int, default=64, help="parallel streams (64)")
    lm.add_argument("--seq-len", type=positive_int, default=100,
                    help="backpropagation window in characters (100)")
    lm.add_argument("--lr", type=positive_float, default=2e-3, help="initial learning rate (2e-3)")
    lm.add_argument("--eval-every", type=positive_int, default=200,
                    help="updates between validation lines (200)")
    lm.add_argument("--seed", type=int, default=0, help="seed of the split and weights (0)")
    lm.add_argument("--out", type=Path, help="write model.safetensors (with its vocabulary)")
    lm.add_argument("--quiet", action="store_true", help="no progress lines")
    lm.set_defaults(run=_train_lm)

    generate = subparsers.add_parser("generate", help="continue a prompt with a saved language "
                                                      "model (from chainrule train-lm)")
    generate.add_argument("model", type=Path, help="a .safetensors file with a vocabulary")
    generate.add_argument("--prompt", default="", help="text to continue (default: none)")
    generate.add_argument("--length", type=int, default=300,
                          help="characters to generate (default 300)")
    generate.add_argument("--temperature", type=float, default=0.8,
                          help="< 1 safer, > 1 more surprising; 0 always the likeliest (0.8)")
    generate.add_argument("--top-k", type=positive_int, help="sample among the k likeliest")
    generate.add_argument("--seed", type=int, default=0, help="seed of the sampling (0)")
    generate.set_defaults(run=_generate)


def _corpus(data: str, seed: int) -> tuple[str, str]:
    """(train text, validation text) of the named corpus or of local text files."""
    from ..datasets import load_shakespeare_text

    if data.lower() == "shakespeare":
        return load_shakespeare_text(seed=seed)
    path = Path(data).expanduser()
    if path.is_file():
        # One file: its last tenth is the validation text (the block split needs several).
        text = path.read_text(encoding="utf-8", errors="replace")
        cut = int(len(text) * 0.9)
        return text[:cut], text[cut:]
    if path.is_dir():
        return load_shakespeare_text(path, seed=seed)
    raise FileNotFoundError(f"--data {data!r} is neither 'shakespeare' nor a text file or folder")


def _train_lm(args) -> None:
    import chainrule as cr

    from .lm import train_language_model
    from .vocab import Vocabulary

    train_text, val_text = _corpus(args.data, args.seed)
    vocabulary = Vocabulary.build([train_text], level="char", pad_token=None)
    train_ids, val_ids = vocabulary.encode(train_text), vocabulary.encode(val_text)
    cr.manual_seed(args.seed)
    model = cr.models.build("char-lm", (args.seq_len,), len(vocabulary),
                            embedding_dim=args.embedding, hidden_size=args.hidden,
                            num_layers=args.layers, dropout=args.dropout)
    print(f"chainrule train-lm: {len(train_ids):,} training and {len(val_ids):,} validation "
          f"characters, {len(vocabulary)} symbols, {model.num_parameters():,} parameters")
    history = train_language_model(
        model, train_ids, val_ids, epochs=args.epochs, batch_size=args.batch_size,
        seq_len=args.seq_len, lr=args.lr, max_steps=args.max_steps,
        max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
        eval_every=args.eval_every, seed=args.seed, print_fn=None if args.quiet else print,
        unit="char")
    val = history["val_loss"][-1]
    print(f"trained {history['steps']} steps in {history['train_seconds']:.0f} s; validation "
          f"loss {val:.4f} nats/char ({val / math.log(2):.4f} bits/char)")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        cr.save(model, args.out / "model.safetensors",
                metadata={"vocabulary": vocabulary.to_dict(), "val_loss": val})
        print(f"wrote model.safetensors to {args.out}")


def _generate(args) -> None:
    import chainrule as cr

    from .generate import generate
    from .vocab import Vocabulary

    if not args.model.exists():
        raise CommandError(f"model file not found: {args.model}")
    state = cr.load_metadata(args.model).get("vocabulary")
    if state is None:
        raise CommandError(f"{args.model} has no vocabulary: it is not a language model saved "
                           "by chainrule train-lm")
    vocabulary = Vocabulary.from_dict(state)
    model = cr.load_model(args.model)
    if not isinstance(model, cr.models.text.CharLSTM):
        raise CommandError(f"{args.model} holds a {type(model).__name__}, not a language model "
                           "(CharLSTM)")
    text = generate(model, vocabulary, args.prompt, length=args.length,
                    temperature=args.temperature, top_k=args.top_k, seed=args.seed)
    print(args.prompt + text)
