"""Containers: ``Sequential`` (a chain of layers) and ``ModuleList`` (a list that registers)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from .module import Module

__all__ = ["Sequential", "ModuleList"]

_S = TypeVar("_S", bound="_ModuleSequence")


class _ModuleSequence(Module):
    """Submodules named "0", "1", … in order, with list-like access; the shared half of
    ``Sequential`` and ``ModuleList``. The saved configuration is the current list of
    modules, so layers appended after construction are saved too."""

    _config_key = ""  # the name of the constructor argument that holds the modules

    def _add(self, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(
                f"{type(self).__name__}: item {len(self)} must be a Module, got "
                f"{type(module).__name__}"
            )
        setattr(self, str(len(self._modules)), module)

    def append(self: _S, module: Module) -> _S:
        """Add ``module`` at the end; returns self."""
        self._add(module)
        return self

    def extend(self: _S, modules: Iterable[Module]) -> _S:
        """Add each module at the end, in order; returns self."""
        for module in modules:
            self._add(module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return type(self)().extend(modules[index])
        try:
            return modules[index]
        except (IndexError, TypeError):
            raise IndexError(
                f"{type(self).__name__} index {index!r} is out of range for {len(modules)} modules"
            ) from None

    def get_config(self) -> dict[str, Any]:
        return {self._config_key: list(self)}


class Sequential(_ModuleSequence):
    """Runs its layers in order, each on the previous one's output: ``y = fₙ(… f₂(f₁(x)))``.

    Layers are registered under the names "0", "1", …, so parameters read
    ``"0.weight"``, ``"2.bias"`` in ``state_dict``. Supports ``len``, iteration, indexing
    (``model[0]``, ``model[-1]``), slicing (``model[:2]`` is a new ``Sequential`` sharing the
    layers) and ``append``/``extend``.

    Shape:
        - Input: whatever the first layer takes; output: whatever the last layer gives.

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
        >>> model(cr.tensor([[0.0, 1.0, 2.0, 3.0]])).shape
        (1, 3)
        >>> [name for name, _ in model.named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    _config_key = "layers"

    def __init__(self, *layers: Module):
        super().__init__()
        self.extend(layers)

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters the owner registers (no ``forward`` of its own).

    Example:
        >>> import chainrule as cr
        >>> blocks = cr.nn.ModuleList([cr.nn.Linear(2, 2) for _ in range(3)])
        >>> len(blocks), blocks.num_parameters()
        (3, 18)
    """

    _config_key = "modules"

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.extend(modules)
