"""Mutations of a valid input into a hostile or corrupted one.

Each mutator maps ``(data, rng, canary)`` to new bytes: generic byte-level damage (bit flips,
interesting values in header fields, truncation, splices) and format-aware changes of a
safetensors file's JSON header and of the architecture inside it (hostile class names such as
``os.system`` and ``builtins.eval``, huge or negative sizes, exotic dtypes, command strings
that would create the canary file if anything executed them).
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable

_INTERESTING = (0, 1, 2, 7, 8, 255, 256, 1 << 15, (1 << 16) - 1, (1 << 31) - 1, 1 << 31,
                (1 << 32) - 1, 10**9, 10**10)


def bit_flips(data: bytes, rng: random.Random, canary: str) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def header_field(data: bytes, rng: random.Random, canary: str) -> bytes:
    """An interesting 8-, 32- or 64-bit value in the first bytes (lengths, sizes, rates)."""
    if len(data) < 8:
        return data + bytes(rng.randrange(8))
    width, order = rng.choice((1, 4, 8)), rng.choice("<>")
    offset = rng.randrange(0, min(len(data), 80) - width + 1)
    value = rng.choice(_INTERESTING) % (1 << (8 * width))
    packed = value.to_bytes(width, "little" if order == "<" else "big")
    return data[:offset] + packed + data[offset + width:]


def truncate(data: bytes, rng: random.Random, canary: str) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


def splice(data: bytes, rng: random.Random, canary: str) -> bytes:
    """Delete, duplicate or insert random bytes at a random place."""
    a = rng.randrange(len(data) + 1)
    b = min(len(data), a + rng.randint(1, 64))
    choice = rng.randrange(3)
    if choice == 0:
        return data[:a] + data[b:]
    if choice == 1:
        return data[:b] + data[a:b] + data[b:]
    return data[:a] + rng.randbytes(rng.randint(1, 64)) + data[a:]


# ------------------------------------------------------------------ safetensors-aware
def _split(data: bytes) -> tuple[dict, bytes] | None:
    if len(data) < 8:
        return None
    (length,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8:8 + length])
    except ValueError:
        return None
    return (header, data[8 + length:]) if isinstance(header, dict) else None


def _join(header, body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def _hostile_value(rng: random.Random, canary: str):
    return rng.choice([
        None, True, -1, 0, 2**31, 2**63, 10**30, -(10**12), 1e308, float("nan"), "", "x" * 1000,
        [], {}, [[[[]]]], {"__module__": None}, {"__array__": "nowhere"}, {"__tuple__": 5},
        {"__dict__": [[1]]}, f"__import__('os').system('touch {canary}')",
        f"$(touch {canary})", "V1000000000", "U250000000", "object", "float128",
    ])


def _mutate_tree(node, rng: random.Random, canary: str):
    """Replace one randomly chosen value of a JSON tree (or drop a key, or a list element)."""
    if isinstance(node, dict) and node and rng.random() < 0.8:
        key = rng.choice(list(node))
        if rng.random() < 0.15:
            node = dict(node)
            del node[key]
            return node
        return {**node, key: _mutate_tree(node[key], rng, canary)}
    if isinstance(node, list) and node and rng.random() < 0.8:
        i = rng.randrange(len(node))
        return node[:i] + [_mutate_tree(node[i], rng, canary)] + node[i + 1:]
    if isinstance(node, str) and node[:1] in "{[" and rng.random() < 0.7:
        try:  # chainrule's metadata is JSON inside a JSON string: mutate inside it
            return json.dumps(_mutate_tree(json.loads(node), rng, canary))
        except ValueError:
            pass
    if type(node) is int and rng.random() < 0.5:
        return node * rng.choice((10**6, -1, 0, 2**20)) + rng.choice((0, 1))
    return _hostile_value(rng, canary)


def json_header(data: bytes, rng: random.Random, canary: str) -> bytes:
    """Change one value of the safetensors header or of chainrule's metadata inside it,
    keeping the header's length field consistent (so the JSON is what gets tested)."""
    parts = _split(data)
    if parts is None:
        return bit_flips(data, rng, canary)
    header, body = parts
    for _ in range(rng.randint(1, 3)):
        header = _mutate_tree(header, rng, canary)
    return _join(header, body)


def _hostile_spec(rng: random.Random, canary: str) -> dict:
    command = f"touch {canary}"
    big = rng.choice((20_000, 30_000, 10**6, 2**31, 10**12))
    return rng.choice([
        {"class": "system", "config": {"command": command}},
        {"class": "os.system", "config": {"command": command}},
        {"class": "builtins.eval", "config": {"source": f"__import__('os').system('{command}')"}},
        {"class": "__import__", "config": {"name": "os"}},
        {"class": "Module", "config": {}},
        {"class": "Parameter", "config": {"data": [1.0]}},
        {"class": "LSTM", "config": {"input_size": 1, "hidden_size": big}},
        {"class": "MultiheadAttention", "config": {"embed_dim": big, "num_heads": 1}},
        {"class": "Conv2d", "config": {"in_channels": 1, "out_channels": 1, "kernel_size": big}},
        {"class": "Embedding", "config": {"num_embeddings": big, "embedding_dim": big}},
        {"class": "Sequential", "config": {"layers": [{"__module__": {
            "class": "Linear", "config": {"in_features": 4000, "out_features": 4000}}}] * 64}},
        {"class": "TransformerEncoder", "config": {"num_layers": big, "encoder_layer": {
            "__module__": {"class": "Linear", "config": {"in_features": 2, "out_features": 2}}}}},
        {"class": "PositionalEncoding", "config": {"d_model": big, "max_len": big}},
        {"class": "Linear", "config": {"in_features": 2, "out_features": 2,
                                       "dtype": rng.choice(("V1000000000", "U250000000", "O"))}},
        {"class": "BatchNorm1d", "config": {"num_features": 3, "eps": {}}},
        {"class": "Sequential", "config": {"layers": [{"__module__": {"class": "Sequential",
                                                                      "config": {}}}] * 2000}},
        {"class": "Linear", "config": {"in_features": -(10**6), "out_features": -(10**6)}},
    ])


def hostile_architecture(data: bytes, rng: random.Random, canary: str) -> bytes:
    """Replace the architecture (or a layer of it) with a hostile description."""
    parts = _split(data)
    try:
        header, body = parts  # type: ignore[misc]
        info = json.loads(header["__metadata__"]["chainrule"])
        info["architecture"]
    except (TypeError, KeyError, ValueError):  # an earlier mutation broke the structure
        return json_header(data, rng, canary)
    spec = _hostile_spec(rng, canary)
    config = info["architecture"].get("config") if isinstance(info["architecture"], dict) else None
    layers = config.get("layers") if isinstance(config, dict) else None
    if isinstance(layers, list) and layers and rng.random() < 0.5:
        layers[rng.randrange(len(layers))] = {"__module__": spec}
    else:
        info["architecture"] = spec
    header["__metadata__"]["chainrule"] = json.dumps(info)
    return _join(header, body)


Mutator = Callable[[bytes, random.Random, str], bytes]
GENERIC: tuple[Mutator, ...] = (bit_flips, header_field, truncate, splice)
SAFETENSORS: tuple[Mutator, ...] = GENERIC + (json_header, json_header, hostile_architecture)


def mutators(target: str) -> tuple[Mutator, ...]:
    return SAFETENSORS if target in ("model", "state", "checkpoint") else GENERIC


def mutate(data: bytes, target: str, steps: list[tuple[int, int]], canary: str) -> bytes:
    """Apply ``steps`` (mutator index, seed) in order; the same steps give the same bytes."""
    chosen = mutators(target)
    for index, seed in steps:
        data = chosen[index % len(chosen)](data, random.Random(seed), canary)
    return data
