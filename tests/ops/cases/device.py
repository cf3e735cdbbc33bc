"""Op cases for the copy between devices: a round trip through another device (the test
double "fake" from the CPU, the CPU from any other), so the copy back is recorded too."""

from __future__ import annotations

from chainrule.ops.device import ToDevice

from . import OpCase, uniform

__all__ = ["CASES"]


def _round_trip(x):
    """``x`` copied to another device, doubled there, and copied back."""
    other = "fake" if x.device == "cpu" else "cpu"
    return (x.to(other) * 2).to(x.device)


CASES = [
    OpCase("to_device_round_trip", (ToDevice,), _round_trip, lambda x: 2 * x,
           (uniform((3, 4), seed=900),), torch_fn=lambda torch, x: 2 * x),
    OpCase("to_device_round_trip_0d", (ToDevice,), _round_trip, lambda x: 2 * x,
           (uniform((), seed=901),), torch_fn=lambda torch, x: 2 * x),
]
