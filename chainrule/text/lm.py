"""Training and evaluating a language model on one long token stream (truncated BPTT).

A language model reads a corpus as one text, not as independent samples: the state at the end
of one window is where the next window starts. ``train_language_model`` keeps ``batch_size``
parallel streams (``stream_batches``), carries each stream's state from batch to batch and
cuts the graph there (``detach``), so backpropagation runs through ``seq_len`` steps while the
model still sees unbounded context, as in char-rnn.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from ..nn import functional as F
from ..nn.utils import clip_grad_norm_
from ..optim import Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..random import resolve
from ..train import eval_mode
from .batch import stream_batches

__all__ = ["train_language_model", "evaluate_language_model"]


def _window_loss(model, x: np.ndarray, y: np.ndarray, state, reduction: str = "mean"):
    """Cross-entropy of the next-token predictions over a window (B, T), and the new state."""
    logits, state = model(x, state)
    flat = logits.reshape(-1, logits.shape[-1])
    return F.cross_entropy(flat, y.reshape(-1), reduction=reduction), state


def _detached(state):
    return None if state is None else tuple(s.detach() for s in state)


def evaluate_language_model(model, ids, batch_size: int = 32, seq_len: int = 250) -> float:
    """Mean negative log-likelihood of every next token of ``ids``, in nats per token.

    Reads the stream as ``batch_size`` parallel parts with the state carried through each
    (evaluation mode, no graph); divide by ``ln 2`` for bits per token.

    Shape:
        ids ``(L,)``; returns a float.
    """
    total, count, state = 0.0, 0, None
    with eval_mode(model):
        for x, y in stream_batches(ids, batch_size, seq_len):
            loss, state = _window_loss(model, x, y, state, reduction="sum")
            total += float(loss.data)
            count += y.size
    return total / count


def train_language_model(model, train_ids, val_ids=None, *, epochs: int = 1,
                         batch_size: int = 64, seq_len: int = 100, lr: float = 2e-3,
                         max_norm: float = 5.0, max_steps: int | None = None,
                         max_seconds: float | None = None, eval_every: int = 500,
                         seed=0, print_fn: Callable[[str], None] | None = print,
                         unit: str = "token") -> dict:
    """Train a language model on a token stream with Adam, a cosine learning-rate decay (to
    lr/10) and gradient clipping, by truncated backpropagation through time.

    Each epoch starts the streams at a random offset below ``seq_len`` (so windows differ
    between epochs) and from a zero state; within an epoch the state carries over.

    Args:
        model: maps ids ``(B, T)`` and a state (None for zeros) to
            ``(logits (B, T, V), state)``, e.g. ``chainrule.models.text.CharLSTM``.
        train_ids, val_ids: 1-d int token streams (``Vocabulary.encode`` of the texts).
        epochs: passes over the training stream.
        batch_size: parallel streams B.
        seq_len: steps T per window (the backpropagation horizon).
        lr: the initial learning rate.
        max_norm: clip the gradients' joint norm to this.
        max_steps: stop after this many updates (also sets the cosine's length).
        max_seconds: stop after the update that passes this training time.
        eval_every: evaluate on ``val_ids`` every this many updates (and at the end).
        seed: int or ``numpy.random.Generator`` for the offsets.
        print_fn: called with one progress line per evaluation (None: quiet).
        unit: what a token is, for the progress line's bits per unit (``"char"`` for a
            character model).

    Returns:
        ``{"step": [...], "loss": [...], "val_loss": [...], "seconds": [...]}`` at each
        evaluation (``loss``: the mean training loss since the previous one, in nats per token),
        plus ``"steps"`` and ``"train_seconds"`` in all.

    **Shape**: ``train_ids`` ``(L,)``, ``val_ids`` ``(L_val,)``.
    """
    train_ids = np.asarray(train_ids, dtype=np.int64)
    rng = resolve(seed)
    per_epoch = ((len(train_ids) - seq_len - 1) // batch_size + seq_len - 1) // seq_len
    total = per_epoch * epochs if max_steps is None else min(per_epoch * epochs, max_steps)
    if total < 1:
        raise ValueError(f"train_language_model: {len(train_ids)} tokens give no window of "
                         f"{batch_size} x {seq_len}")
    optimizer = Adam(model.parameters(), lr=lr)
    schedule = CosineAnnealingLR(optimizer, T_max=total, eta_min=lr / 10)
    history: dict = {"step": [], "loss": [], "val_loss": [], "seconds": []}
    step, running, counted, start = 0, 0.0, 0, time.perf_counter()

    def report() -> None:
        nonlocal running, counted
        seconds = time.perf_counter() - start
        val = math.nan if val_ids is None else evaluate_language_model(model, val_ids)
        history["step"].append(step)
        history["loss"].append(running / max(counted, 1))
        history["val_loss"].append(val)
        history["seconds"].append(seconds)
        if print_fn is not None:
            print_fn(f"step {step}/{total}  loss {history['loss'][-1]:.4f}  val_loss {val:.4f} "
                     f"({val / math.log(2):.3f} bits/{unit})  {seconds:.0f} s")
        running, counted = 0.0, 0

    model.train()
    done = False
    while not done:
        offset = int(rng.integers(seq_len))
        state = None
        for x, y in stream_batches(train_ids[offset:], batch_size, seq_len):
            loss, state = _window_loss(model, x, y, state)
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            schedule.step()
            state = _detached(state)
            step += 1
            running, counted = running + float(loss.data), counted + 1
            timed_out = max_seconds is not None and time.perf_counter() - start > max_seconds
            done = step >= total or timed_out
            if step % eval_every == 0 or done:
                report()
            if done:
                break
    history["steps"], history["train_seconds"] = step, time.perf_counter() - start
    return history
