"""A checkpoint whose random-generator state is out of range is a ``LoadError``, not the
``OverflowError`` NumPy raises (issue 18, parser leaks)."""

import json
import struct

import pytest

import chainrule as cr


def _with_rng_state(path, rng_state) -> None:
    """Rewrite the checkpoint's JSON structure with another ``rng_state`` (tensors unchanged)."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    info = json.loads(header["__metadata__"]["chainrule"])
    info["tree"]["rng_state"] = rng_state
    header["__metadata__"]["chainrule"] = json.dumps(info)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + length:])


@pytest.mark.parametrize("state", [2**200, -1])
def test_out_of_range_rng_state_is_a_load_error(tmp_path, state):
    model = cr.nn.Linear(2, 2)
    path = tmp_path / "run.ckpt"
    cr.save_checkpoint(path, model=model, epoch=1)
    good = cr.get_rng_state()
    _with_rng_state(path, {**good, "state": {"state": state, "inc": 1}})
    with pytest.raises(cr.LoadError, match="the saved random-generator state is invalid"):
        cr.load_checkpoint(path, model=model)
