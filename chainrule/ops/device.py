"""Copying a tensor to another device, differentiably."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import Device, device_of, to_device

__all__ = ["ToDevice"]


class ToDevice(Function):
    """``y = x`` on another device; ``dL/dx = dL/dy`` copied back to ``x``'s device."""

    def forward(self, x: Any, device: Device) -> Any:
        self.source = device_of(x)
        return to_device(x, device)

    def backward(self, grad: Any) -> Any:
        return to_device(grad, self.source)

    def backward_graph(self, grad: Any) -> Any:
        """The rule on a recorded gradient (``create_graph``): the copy back, itself an op."""
        return grad.to(self.source)
