"""The plots of explain's reports, drawn with matplotlib and returned as PNG bytes.

Figures are made with ``matplotlib.figure.Figure`` and the Agg canvas directly, never through
``pyplot``, so drawing a report neither changes the user's backend nor leaks figures. Every
function returns None when matplotlib is not installed: the reports then show tables only.
"""

from __future__ import annotations

import io
import math

import numpy as np

__all__ = ["available", "gradient_magnitudes", "gradient_flow"]

def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _positive(values) -> np.ndarray:
    """Norms for a log axis: zeros (a dead layer) and non-finite values are left out."""
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(array) & (array > 0), array, np.nan)


def _norm(arrays) -> float:
    return math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))


def gradient_magnitudes(explanation) -> bytes | None:
    """‖∂J/∂(output)‖ of every layer and ‖∂J/∂θ‖ of its parameters, from input to loss.

    A gradient that shrinks from right to left is vanishing on its way back to the input.
    """
    if not available():
        return None
    views = [v for v in explanation.layers if v.backward]
    if not views:
        return None
    labels = [f"{v.layer} {v.title.split(' · ', 1)[-1]}" for v in views]
    signal = [_norm([q.value for q in v.backward if q.kind == "grad_output"]) for v in views]
    params = [_norm([q.value for q in v.backward if q.kind == "grad_parameter"])
              if any(q.kind == "grad_parameter" for q in v.backward) else np.nan for v in views]
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 3.6), dpi=100)
    axis = figure.add_subplot(1, 1, 1)
    positions = np.arange(len(views))
    axis.plot(positions, _positive(signal), "o-", label="‖∂J/∂output‖ (reaches the layer)")
    axis.plot(positions, _positive(params), "s", markersize=8,
              label="‖∂J/∂parameters‖ (its update)")
    axis.set_yscale("log")
    axis.set_xticks(positions)
    axis.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    axis.set_ylabel("gradient norm")
    axis.set_title("Gradient magnitude per layer (input on the left, loss on the right)")
    axis.grid(True, which="major", alpha=0.3)
    axis.legend(fontsize=8)
    return _png(figure)


def gradient_flow(runs: dict[str, dict]) -> bytes | None:
    """``GradientMonitor.to_dict()`` results, one row of two panels per run: each layer's
    gradient norm over the epochs, and the norm by depth in the first and last epoch. All
    panels share one logarithmic y axis, so runs compare at a glance."""
    if not available():
        return None
    runs = {name: data for name, data in runs.items() if data["layers"] and data["epochs"]}
    if not runs:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11.0, 3.8 * len(runs)), dpi=100)
    first = None
    for row, (name, data) in enumerate(runs.items()):
        left = figure.add_subplot(len(runs), 2, 2 * row + 1, sharey=first)
        first = first or left
        right = figure.add_subplot(len(runs), 2, 2 * row + 2, sharey=first)
        _flow_panels(left, right, data, name)
    return _png(figure)


def _flow_panels(left, right, data: dict, name: str) -> None:
    from matplotlib.ticker import MaxNLocator

    layers, norms = data["layers"], data["grad_norm"]
    labels = [f"{layer} {data.get('kinds', {}).get(layer, '')}".strip() for layer in layers]
    epochs = np.arange(1, len(data["epochs"]) + 1)
    for colour, layer, label in zip(_colours(len(layers)), layers, labels):
        left.plot(epochs, _positive(norms[layer]), "-", color=colour, label=label)
    left.set_yscale("log")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("epoch")
    left.set_ylabel("mean gradient norm per batch")
    left.set_title(f"{name}: gradient flow over training" if name else "Gradient flow")
    if len(layers) <= 12:
        left.legend(fontsize=7, ncol=2)
    depth = np.arange(1, len(layers) + 1)
    for index, style in ((0, "o--"), (len(epochs) - 1, "o-")):
        right.plot(depth, _positive([norms[layer][index] for layer in layers]), style,
                   label=f"epoch {index + 1}")
    right.set_xticks(depth)
    right.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    right.set_xlabel("layer (input → output)")
    right.set_title(f"{name}: gradient norm by depth" if name else "Gradient norm by depth")
    right.legend(fontsize=8)
    for axis in (left, right):
        axis.grid(True, alpha=0.3)


def _colours(count: int) -> list:
    from matplotlib import colormaps

    palette = colormaps["viridis"]
    return [palette(i / max(count - 1, 1)) for i in range(count)]
