"""Converters of the models whose ``forward`` is Python of their own: the text classifiers
(padding found from the ids, masked pooling), the character language model, and the speech
front end.

The text converters build the mask of real tokens inside the graph from the ids, exactly as
``chainrule.models.text`` does (an all-padding text counts its first token), so the exported
model takes the same right-padded ids. Chainrule drops steps that are padding in every text
before the encoder; the graph keeps them, which changes nothing: they are masked out of
attention (their weight is exactly 0) and of the pooling.
"""

from __future__ import annotations

import numpy as np

from ..audio.features import mel_filterbank
from ..audio.frontend import SpeechFeatures
from ..models import text
from ..tensor import Tensor
from .graph import Graph, Value, converter

__all__: list[str] = []


# ------------------------------------------------------------------------------------ text
def _real_tokens(g: Graph, model, ids: Value) -> Value:
    """The (N, T) mask of real tokens: ``ids != padding_idx``, and the first step of a text
    that is all padding."""
    padding_idx = model.embedding.padding_idx
    if padding_idx is None:
        name = g.op("ConstantOfShape", g.op("Shape", ids.name), value=_bool_tensor(True))
        return Value(name, np.ones(ids.shape, dtype=bool))
    padding = g.constant(np.asarray(padding_idx, ids.example.dtype), "padding_idx")
    real = g.op("Not", g.op("Equal", ids.name, padding))
    counts = g.reduce("ReduceSum", g.op("Cast", real, to=g.tensor_type(np.int64)), [1])
    empty = g.op("Equal", counts, g.ints(0))                                   # (N, 1)
    steps = g.op("Shape", ids.name, start=1, end=2)
    first = g.op("Equal", g.op("Range", g.ints(0), g.op("Squeeze", steps), g.ints(1)),
                 g.ints(0))                                                     # (T,)
    name = g.op("Or", real, g.op("And", empty, first))
    return Value(name, text._real_tokens(ids.example, padding_idx))


def _bool_tensor(value: bool):
    from onnx import helper

    return helper.make_tensor("value", helper.np_dtype_to_tensor_dtype(np.dtype(bool)), [1],
                              [value])


def _lengths(g: Graph, mask: Value) -> Value:
    """Real tokens per text, (N,) int64."""
    name = g.reduce("ReduceSum", g.op("Cast", mask.name, to=g.tensor_type(np.int64)), [1],
                    keepdims=False)
    return Value(name, mask.example.sum(axis=1))


def _masked_pool(g: Graph, x: Value, mask: Value, how: str) -> Value:
    """``chainrule.models.text.masked_pool`` over (N, T, F): mean, max or the last real step."""
    dtype = x.example.dtype
    keep = g.op("Unsqueeze", mask.name, g.ints([2]))                           # (N, T, 1)
    if how == "max":
        lowest = g.scalar(np.finfo(dtype).min, dtype)
        name = g.reduce("ReduceMax", g.op("Where", keep, x.name, lowest), [1], keepdims=False)
    elif how == "mean":
        total = g.reduce("ReduceSum", g.op("Where", keep, x.name, g.scalar(0, dtype)), [1],
                         keepdims=False)
        counts = g.reduce("ReduceSum", g.op("Cast", keep, to=g.tensor_type(dtype)), [1],
                          keepdims=False)
        name = g.op("Div", total, counts)
    else:  # "last": the step at each text's length - 1, picked by a one-hot mask (exact)
        last = g.op("Sub", _lengths(g, mask).name, g.ints(1))
        steps = g.op("Squeeze", g.op("Shape", x.name, start=1, end=2))
        positions = g.op("Range", g.ints(0), steps, g.ints(1))
        pick = g.op("Equal", g.op("Unsqueeze", last, g.ints([1])), positions)   # (N, T)
        chosen = g.op("Where", g.op("Unsqueeze", pick, g.ints([2])), x.name, g.scalar(0, dtype))
        name = g.reduce("ReduceSum", chosen, [1], keepdims=False)
    return Value(name, text.masked_pool(Tensor(x.example), mask.example, how).data)


@converter(text.BagOfEmbeddings)
def _bag_of_embeddings(g: Graph, model: text.BagOfEmbeddings, ids: Value):
    mask = _real_tokens(g, model, ids)
    pooled = _masked_pool(g, g.convert(model.embedding, ids), mask, "mean")
    return g.convert(model.classifier, pooled).name


@converter(text.LSTMClassifier)
def _lstm_classifier(g: Graph, model: text.LSTMClassifier, ids: Value):
    mask = _real_tokens(g, model, ids)
    embedded = g.convert(model.embedding, ids)
    outputs, (h_n, _) = g.convert(model.lstm, embedded, lengths=_lengths(g, mask))
    if model.pooling != "last":
        return g.convert(model.output, _masked_pool(g, outputs, mask, model.pooling)).name
    # The last layer's final states (forward, then backward), side by side: (N, D·H).
    directions = 2 if model.lstm.bidirectional else 1
    rows = g.op("Slice", h_n.name, g.ints([-directions]), g.ints([np.iinfo(np.int64).max]),
                g.ints([0]))
    joined = g.op("Reshape", g.op("Transpose", rows, perm=[1, 0, 2]),
                  g.ints([0, directions * model.lstm.hidden_size]))
    example = np.concatenate(list(h_n.example[-directions:]), axis=1)
    return g.convert(model.output, Value(joined, example)).name


@converter(text.TransformerClassifier)
def _transformer_classifier(g: Graph, model: text.TransformerClassifier, ids: Value):
    mask = _real_tokens(g, model, ids)
    embedded = g.convert(model.embedding, ids)
    dtype = embedded.example.dtype
    scaled = Value(g.op("Mul", embedded.name, g.scalar(model.scale, dtype)),
                   (Tensor(embedded.example) * model.scale).data)
    padding = Value(g.op("Not", mask.name), ~mask.example)
    encoded = g.convert(model.encoder, g.convert(model.positions, scaled),
                        src_key_padding_mask=padding)
    return g.convert(model.output, _masked_pool(g, encoded, mask, model.pooling)).name


@converter(text.CharLSTM)
def _char_lstm(g: Graph, model: text.CharLSTM, ids: Value, state=None):
    outputs, (h_n, c_n) = g.convert(model.lstm, g.convert(model.embedding, ids), state)
    return g.convert(model.output, outputs).name, (h_n.name, c_n.name)


# ---------------------------------------------------------------------------------- speech
@converter(SpeechFeatures)
def _speech_features(g: Graph, layer: SpeechFeatures, x: Value):
    """Features pass through; waveforms become ``log_mel_spectrogram`` (STFT, mel MatMul,
    decibels with the ``top_db`` floor) standardised per clip, as ``SpeechFeatures.transform``."""
    if x.shape[1:] == layer.output_shape:
        return x.name
    dtype = x.example.dtype
    half = layer.n_fft // 2
    padded = g.op("Pad", x.name, g.ints([0, half, 0, half]))                   # centred frames
    n = np.arange(layer.n_fft)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * n / layer.n_fft)).astype(dtype)   # periodic Hann
    spectrum = g.op("STFT", g.op("Unsqueeze", padded, g.ints([2])),
                    g.constant(np.asarray(layer.hop_length, np.int64), "hop"),
                    g.constant(window, "window"), onesided=1)                   # (N, T, F, 2)
    power = g.reduce("ReduceSumSquare", spectrum, [3], keepdims=False)        # (N, T, F)
    bank = mel_filterbank(layer.sample_rate, layer.n_fft, layer.n_mels, layer.fmin, layer.fmax,
                          dtype=dtype)
    mel = g.op("MatMul", power, g.constant(bank.T, "mel_filterbank"))          # (N, T, M)
    # power_to_db with ref 1 and amin 1e-10: 10 log10(max(mel, amin)), floored top_db below
    # each clip's peak.
    db = g.op("Mul", g.op("Log", g.op("Max", mel, g.scalar(1e-10, dtype))),
              g.scalar(10 / np.log(10), dtype))
    peak = g.reduce("ReduceMax", db, [1, 2])
    db = g.op("Max", db, g.op("Sub", peak, g.scalar(layer.top_db, dtype)))
    if layer.normalize:
        centred = g.op("Sub", db, g.reduce("ReduceMean", db, [1, 2]))
        spread = g.op("Sqrt", g.reduce("ReduceMean", g.op("Mul", centred, centred), [1, 2]))
        db = g.op("Div", centred, g.op("Add", spread, g.scalar(1e-5, dtype)))
    return g.op("Unsqueeze", g.op("Transpose", db, perm=[0, 2, 1]), g.ints([1]))
